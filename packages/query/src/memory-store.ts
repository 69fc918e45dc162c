import {
  aggregationRuleFor,
  CounterChild,
  DEFAULT_AGGREGATION_RULES,
  nowSeconds,
  splitCanonical,
  mergeStatPoint,
  STAT_STRIDE,
  statPointAt,
  TIME_FIRST,
  TIME_LAST,
  TIME_STRIDE,
  valueOf,
  type AggregationRule,
  type FlushBatch,
  type MetricsRegistry,
  type Resolution,
  type SeriesReader,
  type StatPoint,
  type Writer,
} from '@carillon/core';

export interface MemoryStoreOptions {
  /** Points kept over all series and resolutions; past it the oldest points are evicted (and counted). */
  maxPoints?: number;
  /** How a stored StatPoint becomes the value a read returns; the same rules the whisper store uses. */
  aggregationRules?: readonly AggregationRule[];
  /** Now in epoch seconds; decides which points are past their resolution's TTL. */
  now?: () => number;
  /** Seconds between sweeps that drop expired points of series no longer written to. */
  sweepInterval?: number;
  /** Registers `memory_store_points`, `memory_store_evicted_points_total`, `memory_store_expired_points_total`. */
  metrics?: MetricsRegistry;
}

export const DEFAULT_MEMORY_STORE_MAX_POINTS = 2_000_000;

/** After an eviction the store is this full, so evictions (each a sort of all times) stay rare. */
const EVICTION_LOW_WATER = 0.9;

/** One series' StatPoints at one resolution, oldest first; points before `head` are already dropped. */
class PointList {
  readonly times: number[] = [];
  /** STAT_STRIDE numbers per point: min, max, sum, first, last, count. */
  readonly stats: number[] = [];
  /** TIME_STRIDE numbers per point: the first and last point's timestamps. */
  readonly pointTimes: number[] = [];
  head = 0;

  get size(): number {
    return this.times.length - this.head;
  }

  /** Index of the first live point with time >= `time`. */
  lowerBound(time: number): number {
    let lo = this.head;
    let hi = this.times.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.times[mid]! < time) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /**
   * Stores the point (times: its first/last timestamps, absent: the window start); a second write of the same
   * window replaces the first, or with `amend` merges into it (core mergeStatPoint, the stored point first).
   * True when the list grew.
   */
  put(time: number, source: Float64Array, offset: number, times: Float64Array | undefined, amend: boolean): boolean {
    const row = Array.from(source.subarray(offset, offset + STAT_STRIDE));
    const k = (offset / STAT_STRIDE) * TIME_STRIDE;
    const rowTimes = times === undefined ? [time, time] : [times[k + TIME_FIRST]!, times[k + TIME_LAST]!];
    const last = this.times.length - 1;
    if (last < this.head || this.times[last]! < time) {
      this.times.push(time);
      this.stats.push(...row);
      this.pointTimes.push(...rowTimes);
      return true;
    }
    const i = this.lowerBound(time);
    if (this.times[i] === time) {
      if (amend) {
        const stored = this.point(i);
        const late = statPointAt(row, 0, time);
        late.firstTime = rowTimes[0]!;
        late.lastTime = rowTimes[1]!;
        mergeStatPoint(stored, late);
        row.splice(0, STAT_STRIDE, stored.min, stored.max, stored.sum, stored.first, stored.last, stored.count);
        rowTimes.splice(0, TIME_STRIDE, stored.firstTime!, stored.lastTime!);
      }
      for (let j = 0; j < STAT_STRIDE; j++) this.stats[i * STAT_STRIDE + j] = row[j]!;
      for (let j = 0; j < TIME_STRIDE; j++) this.pointTimes[i * TIME_STRIDE + j] = rowTimes[j]!;
      return false;
    }
    this.times.splice(i, 0, time);
    this.stats.splice(i * STAT_STRIDE, 0, ...row);
    this.pointTimes.splice(i * TIME_STRIDE, 0, ...rowTimes);
    return true;
  }

  /** The StatPoint at `i`, with its first/last timestamps. */
  point(i: number): StatPoint {
    const point = statPointAt(this.stats, i, this.times[i]!);
    point.firstTime = this.pointTimes[i * TIME_STRIDE + TIME_FIRST]!;
    point.lastTime = this.pointTimes[i * TIME_STRIDE + TIME_LAST]!;
    return point;
  }

  /** Drops points older than `time` (and up to `limit` points at exactly `time`); returns how many. */
  dropBefore(time: number, atTimeLimit = 0): number {
    let end = this.lowerBound(time);
    let atTime = 0;
    while (atTime < atTimeLimit && end < this.times.length && this.times[end] === time) {
      end++;
      atTime++;
    }
    const dropped = end - this.head;
    this.head = end;
    // Reclaim the dropped prefix once it is most of the arrays.
    if (this.head > 64 && this.head * 2 > this.times.length) {
      this.times.splice(0, this.head);
      this.stats.splice(0, this.head * STAT_STRIDE);
      this.pointTimes.splice(0, this.head * TIME_STRIDE);
      this.head = 0;
    }
    return dropped;
  }
}

/**
 * An in-memory store: a Writer that keeps every flushed StatPoint per series and resolution, and the SeriesReader
 * the query API reads. Points older than their resolution's TTL are dropped; past `maxPoints` the oldest points are
 * evicted. Everything is lost on restart: it is the store for a single node without disks, and for tests.
 */
export class MemoryStore implements Writer, SeriesReader {
  readonly name = 'memory';
  readonly maxPoints: number;
  private readonly rules: readonly AggregationRule[];
  private readonly now: () => number;
  private readonly sweepInterval: number;
  /** resolution index → series name → points */
  private readonly byResolution = new Map<number, Map<string, PointList>>();
  private readonly ttls = new Map<number, number>();
  private total = 0;
  private lastSweep = -Infinity;
  private readonly evictedCounter: CounterChild;
  private readonly expiredCounter: CounterChild;

  constructor(options: MemoryStoreOptions = {}) {
    this.maxPoints = options.maxPoints ?? DEFAULT_MEMORY_STORE_MAX_POINTS;
    if (!Number.isInteger(this.maxPoints) || this.maxPoints < 1)
      throw new Error('maxPoints must be a positive integer');
    this.rules = options.aggregationRules ?? DEFAULT_AGGREGATION_RULES;
    this.now = options.now ?? nowSeconds;
    this.sweepInterval = options.sweepInterval ?? 60;
    const metrics = options.metrics;
    this.evictedCounter = metrics
      ? metrics
          .counter('memory_store_evicted_points_total', 'Points evicted because the memory store was full')
          .labels()
      : new CounterChild();
    this.expiredCounter = metrics
      ? metrics.counter('memory_store_expired_points_total', 'Points dropped for being older than their TTL').labels()
      : new CounterChild();
    metrics?.gauge('memory_store_points', 'Points held by the memory store', [], (gauge) => gauge.set(this.total));
  }

  /** Points held now. */
  get points(): number {
    return this.total;
  }

  /** Points evicted because the store was full. */
  get evicted(): number {
    return this.evictedCounter.value;
  }

  /** Points dropped (or refused on write) for being older than their resolution's TTL. */
  get expired(): number {
    return this.expiredCounter.value;
  }

  write(batch: FlushBatch): Promise<void> {
    const { resolution } = batch;
    const now = this.now();
    const cutoff = now - resolution.ttl;
    this.ttls.set(resolution.index, resolution.ttl);
    if (batch.time < cutoff) {
      this.expiredCounter.inc(batch.names.length);
      return Promise.resolve();
    }
    let series = this.byResolution.get(resolution.index);
    if (!series) {
      series = new Map();
      this.byResolution.set(resolution.index, series);
    }
    batch.names.forEach((name, i) => {
      let list = series.get(name);
      if (!list) {
        list = new PointList();
        series.set(name, list);
      }
      if (list.put(batch.time, batch.stats, i * STAT_STRIDE, batch.times, batch.amend !== undefined)) this.total++;
      this.expire(list, cutoff);
    });
    if (now - this.lastSweep >= this.sweepInterval) this.sweep(now);
    if (this.total > this.maxPoints) this.evictOldest();
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  /** The stored StatPoints of `name` at `resolution` with window start in [from, until), oldest first. */
  statPoints(name: string, resolution: Resolution, from: number, until: number): StatPoint[] {
    const list = this.byResolution.get(resolution.index)?.get(name);
    if (!list) return [];
    const points: StatPoint[] = [];
    for (let i = list.lowerBound(from); i < list.times.length && list.times[i]! < until; i++)
      points.push(list.point(i));
    return points;
  }

  fetch(name: string, resolution: Resolution, from: number, until: number): Promise<(number | null)[]> {
    const step = resolution.step;
    const count = Math.max(0, Math.ceil((until - from) / step));
    const values = new Array<number | null>(count).fill(null);
    const list = this.byResolution.get(resolution.index)?.get(name);
    if (!list || count === 0) return Promise.resolve(values);
    const oldest = Math.max(from, this.now() - resolution.ttl);
    const method = aggregationRuleFor(splitCanonical(name).path, this.rules).method;
    for (let i = list.lowerBound(oldest); i < list.times.length && list.times[i]! < until; i++) {
      const point = list.point(i);
      if (point.count === 0) continue;
      const value = valueOf(point, method);
      if (Number.isFinite(value)) values[Math.floor((point.time - from) / step)] = value;
    }
    return Promise.resolve(values);
  }

  private expire(list: PointList, cutoff: number): void {
    const dropped = list.dropBefore(cutoff);
    if (dropped === 0) return;
    this.total -= dropped;
    this.expiredCounter.inc(dropped);
  }

  /** Drops expired points of every series, and series left empty. */
  private sweep(now: number): void {
    this.lastSweep = now;
    for (const [index, series] of this.byResolution) {
      const cutoff = now - (this.ttls.get(index) ?? Infinity);
      for (const [name, list] of series) {
        this.expire(list, cutoff);
        if (list.size === 0) series.delete(name);
      }
    }
  }

  /** Evicts the oldest points over all series down to the low-water mark: one sort of all live times. */
  private evictOldest(): void {
    const excess = this.total - Math.floor(this.maxPoints * EVICTION_LOW_WATER);
    const times = new Float64Array(this.total);
    let n = 0;
    for (const series of this.byResolution.values())
      for (const list of series.values())
        for (let i = list.head; i < list.times.length; i++) times[n++] = list.times[i]!;
    times.sort();
    const cutoffTime = times[excess - 1]!;
    let remaining = excess;
    for (const series of this.byResolution.values())
      for (const list of series.values()) remaining -= list.dropBefore(cutoffTime);
    // Points at exactly the cutoff time: drop just enough of them.
    for (const series of this.byResolution.values()) {
      for (const [name, list] of series) {
        if (remaining > 0) remaining -= list.dropBefore(cutoffTime, 1);
        if (list.size === 0) series.delete(name);
      }
    }
    this.total -= excess;
    this.evictedCounter.inc(excess);
  }
}
