import type { Resolution } from '@carillon/core';
import { makeSeries, seriesOfFloat64, shallowCopy, type Series } from './series.js';
import type { SeriesSources } from './series-fetch.js';
import type { SeriesFinder } from './series-finder.js';
import type { PlannedRead } from './read-plan.js';
import {
  SeriesLoader,
  type LoadedSeries,
  type LoadRequest,
  type ReadConsolidation,
  type RenderLimits,
  type SeriesLoad,
  type SeriesLoadMany,
} from './series-loader.js';

/** A render that reads through the store, the index and the aggregator in this thread. */
export interface LocalRenderShared {
  finder: SeriesFinder;
  sources: SeriesSources;
  resolutions: readonly Resolution[];
  limits: RenderLimits;
  /** The request's `template[name]=value` parameters, which override template() arguments. */
  template?: ReadonlyMap<string, string>;
}

/** A render whose reads are made elsewhere (a worker asking the ingest thread). */
export interface LoaderRenderShared {
  loader: SeriesLoad;
  /** Many reads in one batch (one round trip to the ingest thread), for prefetch(). */
  loadMany?: SeriesLoadMany;
  template?: ReadonlyMap<string, string>;
  /**
   * Path expressions (or seriesByTag calls) read already consolidated for maxDataPoints, with the function to
   * consolidate by; only reads over the render's own range use it (see read-plan.ts).
   */
  consolidate?: ReadonlyMap<string, ReadConsolidation>;
}

/** What every context of one render shares: where series come from and the request's template values. */
export type RenderShared = LocalRenderShared | LoaderRenderShared;

interface Budget {
  /** stacked()'s running totals by stack name, shared by every target of the render as in graphite-web. */
  stacks: Map<string, number[]>;
  loader: SeriesLoad;
  /** The render's own range: reads over it may be consolidated as read. */
  startTime: number;
  endTime: number;
}

/**
 * graphite-web's requestContext: the render's time range and `now` (epoch seconds), the request's xFilesFactor,
 * and fetching by path expression. Functions that read another range (timeShift, movingAverage's bootstrap) make
 * a context with other times; reads are cached per (range, expression) across all of them.
 */
export class RenderContext {
  private readonly cache: Map<string, Promise<Series[]>>;
  private readonly budget: Budget;

  constructor(
    readonly shared: RenderShared,
    readonly startTime: number,
    readonly endTime: number,
    readonly now: number,
    readonly xFilesFactor: number,
    cache?: Map<string, Promise<Series[]>>,
    budget?: Budget,
  ) {
    this.cache = cache ?? new Map();
    this.budget = budget ?? {
      stacks: new Map(),
      loader: 'loader' in shared ? shared.loader : new SeriesLoader(shared).load,
      startTime,
      endTime,
    };
  }

  /** The running totals of a stack (stacked()), created empty. */
  stack(name: string): number[] {
    let totals = this.budget.stacks.get(name);
    if (!totals) this.budget.stacks.set(name, (totals = []));
    return totals;
  }

  withTimes(startTime: number, endTime: number): RenderContext {
    return new RenderContext(this.shared, startTime, endTime, this.now, this.xFilesFactor, this.cache, this.budget);
  }

  /** The series of a path expression (glob or plain name), sorted by name, as graphite-web's fetchData returns. */
  fetch(pathExpression: string): Promise<Series[]> {
    return this.cached(pathExpression, { kind: 'path', pathExpression, ...this.loadCommon(pathExpression) });
  }

  /** seriesByTag: the series whose tags match, named canonically; their pathExpression is the call's text. */
  fetchTagged(call: string, expressions: readonly string[]): Promise<Series[]> {
    return this.cached(call, { kind: 'tagged', call, expressions, ...this.loadCommon(call) });
  }

  /**
   * Makes `reads` (over this context's range) in one batch, so the evaluation finds them cached: a dashboard's
   * hundred targets cost one round trip to the ingest thread, not a hundred. A read that fails fails where the
   * evaluation makes it; the reads after it are not made here (the evaluation stops at that one first).
   */
  async prefetch(reads: readonly PlannedRead[]): Promise<void> {
    const loadMany = 'loader' in this.shared ? this.shared.loadMany : undefined;
    const wanted = reads.filter((r) => !this.cache.has(this.cacheKey(r.text)));
    if (!loadMany || wanted.length === 0) return;
    const requests = wanted.map((r): LoadRequest =>
      r.kind === 'path'
        ? { kind: 'path', pathExpression: r.text, ...this.loadCommon(r.text) }
        : { kind: 'tagged', call: r.text, expressions: r.expressions, ...this.loadCommon(r.text) },
    );
    const outcomes = await loadMany(requests);
    outcomes.forEach((outcome, i) => {
      const result =
        'error' in outcome ? Promise.reject(outcome.error) : Promise.resolve(this.toSeries(outcome.series));
      result.catch(() => undefined); // rejected only for the evaluation that reads it
      this.cache.set(this.cacheKey(wanted[i]!.text), result);
    });
  }

  private cacheKey(text: string): string {
    return `${this.startTime}|${this.endTime}|${text}`;
  }

  private loadCommon(key: string): Omit<LoadRequest, 'kind' | 'pathExpression' | 'call' | 'expressions'> {
    const own = this.startTime === this.budget.startTime && this.endTime === this.budget.endTime;
    const consolidate = own && 'loader' in this.shared ? this.shared.consolidate?.get(key) : undefined;
    return {
      startTime: this.startTime,
      endTime: this.endTime,
      now: this.now,
      xFilesFactor: this.xFilesFactor,
      consolidate,
    };
  }

  private cached(text: string, request: LoadRequest): Promise<Series[]> {
    const key = this.cacheKey(text);
    let result = this.cache.get(key);
    if (!result) {
      result = this.budget.loader(request).then((loaded) => this.toSeries(loaded));
      this.cache.set(key, result);
    }
    // functions never change values or tags in place, only the series object (normalize sets valuesPerPoint)
    return result.then((list) => list.map(shallowCopy));
  }

  private toSeries(loaded: readonly LoadedSeries[]): Series[] {
    return loaded.map((s) => {
      const { values: _none, ...fields } = makeSeries({
        name: s.name,
        start: s.start,
        end: s.end,
        step: s.step,
        values: [],
        xFilesFactor: this.xFilesFactor,
        pathExpression: s.pathExpression,
      });
      // boxed only if a function reads `values` (most of the time the combining and output paths do not)
      return seriesOfFloat64(fields, s.values);
    });
  }
}
