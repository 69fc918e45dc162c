/**
 * Where a render's series come from: names found for a path expression or a seriesByTag call, read from the store
 * and the pending windows, bounded by the render's series and byte budgets. The names and the pending windows are
 * found where the index and the aggregator are (the ingest thread, SeriesLoader); the values are read there too,
 * or, when the store has a worker reader (whisper), by the render worker itself (SeriesReads), so reading hundreds
 * of files never holds the ingest thread. Values are Float64Arrays (NaN for None: stored values are finite).
 */
import { parseMetricName, type Resolution } from '@carillon/core';
import { consolidatedFloat64, consolidateForMaxDataPoints, type ConsolidationFunction } from './consolidation.js';
import { QueryError } from './errors.js';
import { hasGlob } from './glob.js';
import { makeSeries, seriesOfFloat64 } from './series.js';
import {
  fetchSeriesFloat64,
  fetchWindow,
  pendingSlots,
  type FetchWindow,
  type PendingSlots,
  type SeriesSources,
} from './series-fetch.js';
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

export interface LoadCommon {
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

/** A read made ahead of the evaluation: its series, or what it failed with (the reads after a failure are not made). */
export type LoadOutcome = { series: LoadedSeries[] } | { error: Error };

/** Reads in order, in one batch; stops at the first that fails. */
export type SeriesLoadMany = (requests: readonly LoadRequest[]) => Promise<LoadOutcome[]>;

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

/**
 * The names one read of a render covers, found where the index is, with the window to read. `pending` holds the
 * windows not stored yet by name when the values are read on another thread (a render worker reading the whisper
 * files itself): taken before the store is read, so a window written meanwhile is in one or the other.
 */
export interface ResolvedRead {
  /** Unique, sorted by code point. */
  names: string[];
  pathExpression: string;
  /** The window each name is read over (its own resolutions under retention rules); names without one are left out. */
  windows: FetchWindow[];
  /** A plain name (no glob): kept only when the store has a value for it or the index knows it. */
  literal: boolean;
  /** For a literal: whether the index knows it, when asked before the read (undefined: ask after, if needed). */
  known?: boolean;
  pending?: Map<string, PendingSlots>;
}

/**
 * The values of one series over a window, stored and pending (`pending`: taken by resolve, when it was). `into`
 * (the window's length) may be filled and returned instead of a new array.
 */
export type ReadValues = (
  name: string,
  window: FetchWindow,
  pending: PendingSlots | undefined,
  into?: Float64Array,
) => Promise<Float64Array>;

/**
 * The reads of one render: finding the names (with the series budget) and reading the values, both here, or only
 * the finding here when a render worker reads the values itself (`resolve` with pending windows).
 * `cancel()` stops reads still to be made (the render gave up).
 */
export class SeriesLoader {
  private series = 0;
  private cancelled: string | undefined;
  private readonly reads: SeriesReads;
  private readonly resolved = new Map<string, Promise<ResolvedRead>>();

  constructor(private readonly deps: LoaderDeps) {
    this.reads = new SeriesReads(deps.limits);
  }

  get bytesHeld(): number {
    return this.reads.bytesHeld;
  }

  cancel(reason: string): void {
    this.cancelled = reason;
    this.reads.cancel(reason);
  }

  readonly load: SeriesLoad = async (request) => {
    const resolved = await this.resolve(request, false);
    const { sources, finder } = this.deps;
    return this.reads.read(
      resolved,
      request,
      (name, window) => fetchSeriesFloat64(name, window, sources),
      (name) => finder.has(name),
    );
  };

  /**
   * The names of `request` with the series budget charged; with `withPending`, their pending windows too. Once per
   * read: the parts of a render split over workers each ask for the same read.
   */
  resolve(request: LoadRequest, withPending: boolean): Promise<ResolvedRead> {
    const key = JSON.stringify([
      request.kind === 'tagged' ? request.call : request.pathExpression,
      request.kind,
      request.startTime,
      request.endTime,
      request.now,
      withPending,
    ]);
    let resolved = this.resolved.get(key);
    if (!resolved) this.resolved.set(key, (resolved = this.resolveOnce(request, withPending)));
    return resolved;
  }

  private async resolveOnce(request: LoadRequest, withPending: boolean): Promise<ResolvedRead> {
    this.throwIfCancelled();
    const { finder, limits, resolutions, sources } = this.deps;
    let names: readonly string[];
    let pathExpression: string;
    let literal = false;
    if (request.kind === 'tagged') {
      names = await finder.findTagged(parseTagQuery(request.expressions), limits.maxSeries);
      pathExpression = request.call;
    } else if (hasGlob(request.pathExpression)) {
      pathExpression = request.pathExpression;
      names = (await finder.find(pathExpression, limits.maxSeries)).filter((n) => n.leaf).map((n) => n.path);
    } else {
      pathExpression = request.pathExpression;
      const key = parseMetricName(pathExpression);
      if (typeof key === 'string') throw new QueryError(`invalid series name "${pathExpression}" (${key})`);
      // The index may lag the store: a name it does not know is kept when the store has a value for it.
      names = [key.canonical];
      literal = true;
    }
    this.throwIfCancelled();
    const windowOf = (own: readonly Resolution[]): FetchWindow | null =>
      fetchWindow(own, request.startTime, request.endTime, request.now);
    const common = windowOf(resolutions);
    // With retention rules each series is read at its own resolutions (one window per distinct rule).
    const byRule = new Map<readonly Resolution[], FetchWindow | null>();
    const seriesWindow = (name: string): FetchWindow | null => {
      if (sources.retentionOf === undefined) return common;
      const own = sources.retentionOf(name);
      if (!byRule.has(own)) byRule.set(own, own === resolutions ? common : windowOf(own));
      return byRule.get(own)!;
    };
    const unique: string[] = [];
    const windows: FetchWindow[] = [];
    for (const name of [...new Set(names)].sort(byCodePoint)) {
      const window = seriesWindow(name);
      if (window === null) continue;
      unique.push(name);
      windows.push(window);
    }
    const resolved: ResolvedRead = { names: unique, pathExpression, windows, literal };
    if (unique.length === 0) return resolved;
    this.series += unique.length;
    if (this.series > limits.maxSeries)
      throw new QueryError(`render reads more than ${limits.maxSeries} series; narrow the targets`);
    if (!withPending) return resolved;
    if (literal) resolved.known = await finder.has(unique[0]!);
    resolved.pending = new Map();
    for (const [i, name] of unique.entries()) {
      const slots = pendingSlots(name, windows[i]!, sources);
      if (slots) resolved.pending.set(name, slots);
    }
    return resolved;
  }

  private throwIfCancelled(): void {
    if (this.cancelled !== undefined) throw new QueryError(this.cancelled, 503);
  }
}

/**
 * Reading the values of resolved reads with the render's byte budget, consolidating as read where the plan says;
 * wherever the reads happen (the ingest thread, or a render worker with its own reader of the store).
 */
export class SeriesReads {
  private bytes = 0;
  private cancelled: string | undefined;
  /** Arrays reads consolidated as read are made into, handed back once consolidated (at most a chunk's worth). */
  private readonly scratch: Float64Array[] = [];

  /**
   * `yieldTurn` runs between chunks of reads, so a cancel message can arrive (a worker's reads do not yield).
   * `shareBuffers`: the series of a chunk of reads kept raw are read into views of one ArrayBuffer (a render
   * worker's, whose series never cross threads), not an ArrayBuffer each. `renderBytes`: the bytes the whole
   * render holds, shared by the workers of a split render's parts, so the byte budget is the render's.
   */
  constructor(
    private readonly limits: RenderLimits,
    private readonly yieldTurn?: () => Promise<void>,
    private readonly shareBuffers = false,
    private readonly renderBytes?: BigInt64Array,
  ) {}

  get bytesHeld(): number {
    return this.bytes;
  }

  cancel(reason: string): void {
    this.cancelled = reason;
  }

  /** Between chunks of reads: lets a cancel arrive, then throws if one did. */
  async pause(): Promise<void> {
    await this.yieldTurn?.();
    this.throwIfCancelled();
  }

  async read(
    resolved: ResolvedRead,
    request: LoadCommon,
    readValues: ReadValues,
    known?: (name: string) => Promise<boolean>,
  ): Promise<LoadedSeries[]> {
    this.throwIfCancelled();
    const { limits } = this;
    const { windows, names: unique, pathExpression } = resolved;
    if (unique.length === 0) return [];
    // Refused before reading when even the consolidated values cannot fit.
    let estimate = 0;
    for (const { count } of windows)
      estimate += (request.consolidate ? Math.min(count, request.consolidate.maxDataPoints + 1) : count) * 8;
    this.charge(estimate, 0);
    const keep = async (name: string, values: Float64Array): Promise<boolean> => {
      if (!resolved.literal || hasValue(values)) return true;
      return resolved.known ?? (known ? known(name) : false);
    };
    const result: LoadedSeries[] = [];
    for (let i = 0; i < unique.length; i += limits.fetchConcurrency) {
      if (i > 0) await this.pause();
      else this.throwIfCancelled();
      const chunk = unique.slice(i, i + limits.fetchConcurrency);
      const c = request.consolidate;
      const counts = chunk.map((_, j) => windows[i + j]!.count);
      const into = c ? counts.map((count) => this.takeScratch(count)) : this.shared(counts);
      const fetched = await Promise.all(
        chunk.map((name, j) => readValues(name, windows[i + j]!, resolved.pending?.get(name), into[j])),
      );
      for (let j = 0; j < chunk.length; j++) {
        const raw = fetched[j]!;
        const name = chunk[j]!;
        const window = windows[i + j]!;
        if (!(await keep(name, raw))) continue;
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
        const { values: _none, ...fields } = makeSeries({
          name,
          start: window.start,
          end: window.end,
          step: window.resolution.step,
          values: [],
          // the consolidation never reads tags; the render's series get theirs from the name (RenderContext)
          tags: NO_TAGS,
          xFilesFactor: c.xFilesFactor,
          pathExpression,
        });
        const consolidated = consolidateForMaxDataPoints(
          seriesOfFloat64({ ...fields, consolidationFunc: c.consolidationFunc }, raw),
          window.end - window.start,
          c.maxDataPoints,
        );
        const values = consolidatedFloat64(consolidated);
        result.push({
          name,
          start: consolidated.start,
          end: consolidated.end,
          step: consolidated.step * consolidated.valuesPerPoint,
          // not consolidated (as many points as maxDataPoints allows): a view of the reused array, so copied
          values: values.buffer === raw.buffer ? values.slice() : values,
          pathExpression,
        });
      }
      if (c) for (const array of into) if (array) this.scratch.push(array);
    }
    // the estimate charged above, replaced by what is held
    let held = 0;
    for (const s of result) held += s.values.byteLength;
    this.charge(held, estimate);
    return result;
  }

  /** Views of one ArrayBuffer, one per count, with shareBuffers (1,000 raw reads: 32 allocations, not 1,000). */
  private shared(counts: readonly number[]): (Float64Array | undefined)[] {
    if (!this.shareBuffers) return counts.map(() => undefined);
    let total = 0;
    for (const count of counts) total += count;
    const buffer = new ArrayBuffer(total * 8);
    let offset = 0;
    return counts.map((count) => {
      const view = new Float64Array(buffer, offset * 8, count);
      offset += count;
      return view;
    });
  }

  private takeScratch(count: number): Float64Array {
    const array = this.scratch.pop();
    return array?.length === count ? array : new Float64Array(count);
  }

  private charge(add: number, release: number): void {
    this.bytes += add - release;
    const change = BigInt(add - release);
    const held = this.renderBytes ? Number(Atomics.add(this.renderBytes, 0, change) + change) : this.bytes;
    if (held > this.limits.maxBytes)
      throw new QueryError(
        `render holds more than ${this.limits.maxBytes} bytes of values (query.render_max_bytes); shorten the time range, narrow the targets or give maxDataPoints`,
      );
  }

  private throwIfCancelled(): void {
    if (this.cancelled !== undefined) throw new QueryError(this.cancelled, 503);
  }
}

const NO_TAGS: Record<string, string> = {};

/** Whether any value is not NaN: a plain loop, outside the async read (a series empty for most of a range is scanned whole). */
function hasValue(values: Float64Array): boolean {
  for (let i = 0; i < values.length; i++) if (!Number.isNaN(values[i]!)) return true;
  return false;
}
