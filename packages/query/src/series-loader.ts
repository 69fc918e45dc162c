/**
 * Where a render's series come from: names found for a path expression or a seriesByTag call, read from the store
 * and the pending windows, bounded by the render's series and byte budgets. It runs where the store, the index and
 * the aggregator are (the ingest thread); a render evaluated in a worker asks it through messages. Values travel
 * as Float64Arrays (NaN for None: stored values are finite), which transfer without a copy.
 */
import { parseMetricName, type Resolution } from '@carillon/core';
import { consolidatedValues, consolidateForMaxDataPoints, type ConsolidationFunction } from './consolidation.js';
import { QueryError } from './errors.js';
import { hasGlob } from './glob.js';
import { makeSeries } from './series.js';
import { fetchSeriesFloat64, fetchWindow, type FetchWindow, type SeriesSources } from './series-fetch.js';
import type { SeriesFinder } from './series-finder.js';
import { parseTagQuery } from './tag-expression.js';

export interface RenderLimits {
  /** Series one render may read, over all its targets. */
  maxSeries: number;
  /** Bytes of values one render may hold (8 per value kept, after per-series consolidation). */
  maxBytes: number;
  /** Store reads in flight at once for one render. */
  fetchConcurrency: number;
}

/**
 * Consolidation made as each series is read, when nothing between the read and the answer needs the raw
 * resolution: exactly what the JSON answer would do with `maxDataPoints` over `timeRange` (the answer's span).
 */
export interface ReadConsolidation {
  maxDataPoints: number;
  consolidationFunc: ConsolidationFunction;
  xFilesFactor: number;
}

interface LoadCommon {
  startTime: number;
  endTime: number;
  now: number;
  /** The xFilesFactor the fetched series carry (the request's). */
  xFilesFactor: number;
  consolidate?: ReadConsolidation;
}

export type LoadRequest =
  | (LoadCommon & { kind: 'path'; pathExpression: string })
  | (LoadCommon & { kind: 'tagged'; call: string; expressions: readonly string[] });

/** One fetched series; `values[i]` is NaN where graphite-web has None. */
export interface LoadedSeries {
  name: string;
  start: number;
  end: number;
  step: number;
  values: Float64Array;
  pathExpression: string;
}

export type SeriesLoad = (request: LoadRequest) => Promise<LoadedSeries[]>;

export interface LoaderDeps {
  finder: SeriesFinder;
  sources: SeriesSources;
  resolutions: readonly Resolution[];
  limits: RenderLimits;
}

/** Python's sorted() on str: by code point, which a UTF-16 comparison gets wrong only past the BMP. */
export function byCodePoint(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The reads of one render, with its budgets; `cancel()` stops reads still to be made (the render gave up). */
export class SeriesLoader {
  private series = 0;
  private bytes = 0;
  private cancelled: string | undefined;

  constructor(private readonly deps: LoaderDeps) {}

  get bytesHeld(): number {
    return this.bytes;
  }

  cancel(reason: string): void {
    this.cancelled = reason;
  }

  readonly load: SeriesLoad = async (request) => {
    const { finder, limits } = this.deps;
    if (request.kind === 'tagged') {
      const names = await finder.findTagged(parseTagQuery(request.expressions), limits.maxSeries);
      return this.read(names, request.call, request);
    }
    const { pathExpression } = request;
    if (hasGlob(pathExpression)) {
      const names = (await finder.find(pathExpression, limits.maxSeries)).filter((n) => n.leaf).map((n) => n.path);
      return this.read(names, pathExpression, request);
    }
    const key = parseMetricName(pathExpression);
    if (typeof key === 'string') throw new QueryError(`invalid series name "${pathExpression}" (${key})`);
    // The index may lag the store: a name it does not know is kept when the store has a value for it.
    return this.read([key.canonical], pathExpression, request, async (values) => {
      for (const v of values) if (!Number.isNaN(v)) return true;
      return finder.has(key.canonical);
    });
  };

  private async read(
    names: readonly string[],
    pathExpression: string,
    request: LoadCommon,
    keep?: (values: Float64Array) => Promise<boolean>,
  ): Promise<LoadedSeries[]> {
    this.throwIfCancelled();
    const { limits, sources, resolutions } = this.deps;
    const windowOf = (own: readonly Resolution[]): FetchWindow | null =>
      fetchWindow(own, request.startTime, request.endTime, request.now);
    const common = windowOf(resolutions);
    // With retention rules each series is read at its own resolutions (one window per distinct rule).
    const byRule = new Map<readonly Resolution[], FetchWindow | null>();
    const byName = new Map<string, FetchWindow | null>();
    const seriesWindow = (name: string): FetchWindow | null => {
      if (sources.retentionOf === undefined) return common;
      if (byName.has(name)) return byName.get(name)!;
      const own = sources.retentionOf(name);
      if (!byRule.has(own)) byRule.set(own, own === resolutions ? common : windowOf(own));
      const window = byRule.get(own)!;
      byName.set(name, window);
      return window;
    };
    const unique = [...new Set(names)].sort(byCodePoint).filter((name) => seriesWindow(name) !== null);
    if (unique.length === 0) return [];
    this.series += unique.length;
    if (this.series > limits.maxSeries)
      throw new QueryError(`render reads more than ${limits.maxSeries} series; narrow the targets`);
    // Refused before reading when even the consolidated values cannot fit.
    const windowBytes = (name: string): number => {
      const count = seriesWindow(name)!.count;
      return (request.consolidate ? Math.min(count, request.consolidate.maxDataPoints + 1) : count) * 8;
    };
    let estimate = 0;
    for (const name of unique) estimate += windowBytes(name);
    this.charge(estimate, 0);
    const result: LoadedSeries[] = [];
    for (let i = 0; i < unique.length; i += limits.fetchConcurrency) {
      this.throwIfCancelled();
      const chunk = unique.slice(i, i + limits.fetchConcurrency);
      const fetched = await Promise.all(chunk.map((name) => fetchSeriesFloat64(name, seriesWindow(name)!, sources)));
      for (let j = 0; j < chunk.length; j++) {
        const raw = fetched[j]!;
        if (keep && !(await keep(raw))) continue;
        const name = chunk[j]!;
        const window = seriesWindow(name)!;
        const c = request.consolidate;
        if (!c) {
          result.push({
            name,
            start: window.start,
            end: window.end,
            step: window.resolution.step,
            values: raw,
            pathExpression,
          });
          continue;
        }
        const consolidated = consolidateForMaxDataPoints(
          {
            ...makeSeries({
              name,
              start: window.start,
              end: window.end,
              step: window.resolution.step,
              values: fromFloat64(raw),
              xFilesFactor: c.xFilesFactor,
              pathExpression,
            }),
            consolidationFunc: c.consolidationFunc,
          },
          window.end - window.start,
          c.maxDataPoints,
        );
        result.push({
          name,
          start: consolidated.start,
          end: consolidated.end,
          step: consolidated.step * consolidated.valuesPerPoint,
          values: toFloat64(consolidatedValues(consolidated)),
          pathExpression,
        });
      }
    }
    // the estimate charged above, replaced by what is held
    let held = 0;
    for (const s of result) held += s.values.byteLength;
    this.charge(held, estimate);
    return result;
  }

  private charge(add: number, release: number): void {
    this.bytes += add - release;
    if (this.bytes > this.deps.limits.maxBytes)
      throw new QueryError(
        `render holds more than ${this.deps.limits.maxBytes} bytes of values (query.render_max_bytes); shorten the time range, narrow the targets or give maxDataPoints`,
      );
  }

  private throwIfCancelled(): void {
    if (this.cancelled !== undefined) throw new QueryError(this.cancelled, 503);
  }
}

export function toFloat64(values: readonly (number | null)[]): Float64Array {
  const out = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    out[i] = v === null || v === undefined ? NaN : v;
  }
  return out;
}

export function fromFloat64(values: Float64Array): (number | null)[] {
  const out = new Array<number | null>(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    out[i] = Number.isNaN(v) ? null : v;
  }
  return out;
}
