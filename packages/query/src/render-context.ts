import { parseMetricName } from '@carillon/core';
import type { Resolution } from '@carillon/core';
import { QueryError } from './errors.js';
import { hasGlob } from './glob.js';
import { makeSeries, type Series } from './series.js';
import { fetchSeriesValues, fetchWindow, type SeriesSources } from './series-fetch.js';
import type { SeriesFinder } from './series-finder.js';
import { parseTagQuery } from './tag-expression.js';

export interface RenderLimits {
  /** Series one render may read, over all its targets. */
  maxSeries: number;
  /** Windows one render may read (series × windows), before consolidation. */
  maxPoints: number;
  /** Store reads in flight at once for one render. */
  fetchConcurrency: number;
}

/** What every context of one render shares: where series come from, the limits, and reads already made. */
export interface RenderShared {
  finder: SeriesFinder;
  sources: SeriesSources;
  resolutions: readonly Resolution[];
  limits: RenderLimits;
  /** The request's `template[name]=value` parameters, which override template() arguments. */
  template?: ReadonlyMap<string, string>;
}

interface Budget {
  series: number;
  points: number;
  /** stacked()'s running totals by stack name, shared by every target of the render as in graphite-web. */
  stacks: Map<string, number[]>;
}

/** Python's sorted() on str: by code point, which a UTF-16 comparison gets wrong only past the BMP. */
export function byCodePoint(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
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
    this.budget = budget ?? { series: 0, points: 0, stacks: new Map() };
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
    const key = `${this.startTime}|${this.endTime}|${pathExpression}`;
    let result = this.cache.get(key);
    if (!result) {
      result = this.fetchUncached(pathExpression);
      this.cache.set(key, result);
    }
    // functions never change values or tags in place, only the series object (normalize sets valuesPerPoint)
    return result.then((list) => list.map((s) => ({ ...s })));
  }

  /** seriesByTag: the series whose tags match, named canonically; their pathExpression is the call's text. */
  fetchTagged(call: string, expressions: readonly string[]): Promise<Series[]> {
    const key = `${this.startTime}|${this.endTime}|${call}`;
    let result = this.cache.get(key);
    if (!result) {
      result = (async () => {
        const names = await this.shared.finder.findTagged(parseTagQuery(expressions), this.shared.limits.maxSeries);
        return this.read(names, call);
      })();
      this.cache.set(key, result);
    }
    // functions never change values or tags in place, only the series object (normalize sets valuesPerPoint)
    return result.then((list) => list.map((s) => ({ ...s })));
  }

  private async fetchUncached(pathExpression: string): Promise<Series[]> {
    if (hasGlob(pathExpression)) {
      const names = (await this.shared.finder.find(pathExpression, this.shared.limits.maxSeries))
        .filter((node) => node.leaf)
        .map((node) => node.path);
      return this.read(names, pathExpression);
    }
    const key = parseMetricName(pathExpression);
    if (typeof key === 'string') throw new QueryError(`invalid series name "${pathExpression}" (${key})`);
    const found = await this.read([key.canonical], pathExpression);
    // The index may lag the store: a name it does not know is kept when the store has a value for it.
    if (found.length === 0) return found;
    if (found[0]!.values.some((v) => v !== null) || (await this.shared.finder.has(key.canonical))) return found;
    return [];
  }

  private async read(names: readonly string[], pathExpression: string): Promise<Series[]> {
    const window = fetchWindow(this.shared.resolutions, this.startTime, this.endTime, this.now);
    if (!window) return [];
    const { limits, sources } = this.shared;
    const unique = [...new Set(names)].sort(byCodePoint);
    this.budget.series += unique.length;
    this.budget.points += unique.length * window.count;
    if (this.budget.series > limits.maxSeries)
      throw new QueryError(`render reads more than ${limits.maxSeries} series; narrow the targets`);
    if (this.budget.points > limits.maxPoints)
      throw new QueryError(
        `render reads more than ${limits.maxPoints} datapoints; shorten the time range or narrow the targets`,
      );
    const result: Series[] = [];
    for (let i = 0; i < unique.length; i += limits.fetchConcurrency) {
      const chunk = unique.slice(i, i + limits.fetchConcurrency);
      const fetched = await Promise.all(chunk.map((name) => fetchSeriesValues(name, window, sources)));
      chunk.forEach((name, j) =>
        result.push(
          makeSeries({
            name,
            start: window.start,
            end: window.end,
            step: window.resolution.step,
            values: fetched[j]!,
            xFilesFactor: this.xFilesFactor,
            pathExpression,
          }),
        ),
      );
    }
    return result;
  }
}
