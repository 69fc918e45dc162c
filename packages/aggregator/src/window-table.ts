import {
  STAT_COUNT as COUNT,
  STAT_FIRST as FIRST,
  STAT_LAST as LAST,
  STAT_MAX as MAX,
  STAT_MIN as MIN,
  STAT_STRIDE,
  STAT_SUM as SUM,
  TIME_FIRST,
  TIME_LAST,
  TIME_STRIDE,
  type FlushBatch,
  type Resolution,
  type StatPoint,
} from '@carillon/core';

/**
 * Every series' StatPoint for one window of one resolution, stored in columns so that adding a point allocates
 * nothing and a flush hands the column straight to a FlushBatch. Rows are looked up by series id through
 * `rowOf` (row + 1, 0 = absent): an array index is much cheaper than a Map lookup per point.
 */
export class WindowTable {
  /** Series id → row + 1; 0 means the series has no point in this window. */
  private rowOf: Int32Array;
  /** Row → series id, in order of first arrival. */
  private seriesOf: Int32Array;
  private stats: Float64Array;
  /**
   * TIME_STRIDE columns per row: timestamps of the first and last point (first/last go by timestamp). Whole epoch
   * seconds (GraphiteSample.timestamp), so 32 bits hold them exactly, through 2106, at half a Float64's room.
   */
  private times: Uint32Array;
  /** Rows in use: the number of points (series) this window holds. */
  rows = 0;

  constructor(
    readonly start: number,
    readonly end: number,
    seriesCapacity: number,
  ) {
    this.rowOf = new Int32Array(Math.max(16, seriesCapacity));
    this.seriesOf = new Int32Array(64);
    this.stats = new Float64Array(64 * STAT_STRIDE);
    this.times = new Uint32Array(64 * TIME_STRIDE);
  }

  /** The row of series `id`, or -1. */
  rowFor(id: number): number {
    return id < this.rowOf.length ? this.rowOf[id]! - 1 : -1;
  }

  /**
   * Adds one sample stamped `timestamp` that arrived after every sample already held for `id` (core addSample,
   * column form): first is the earliest timestamp (ties: the earlier arrival), last the latest (ties: this one).
   */
  add(id: number, value: number, timestamp: number): void {
    const row = this.rowFor(id);
    if (row < 0) {
      this.append(id, value, value, value, value, value, 1, timestamp, timestamp);
      return;
    }
    const s = this.stats;
    const o = row * STAT_STRIDE;
    if (value < s[o + MIN]!) s[o + MIN] = value;
    if (value > s[o + MAX]!) s[o + MAX] = value;
    s[o + SUM]! += value;
    const t = this.times;
    const to = row * TIME_STRIDE;
    if (timestamp < t[to + TIME_FIRST]!) {
      s[o + FIRST] = value;
      t[to + TIME_FIRST] = timestamp;
    }
    if (timestamp >= t[to + TIME_LAST]!) {
      s[o + LAST] = value;
      t[to + TIME_LAST] = timestamp;
    }
    s[o + COUNT]! += 1;
  }

  /** Copies series `id`'s StatPoint into `into` (with this window's start); false if it has none. */
  read(id: number, into: StatPoint): boolean {
    const row = this.rowFor(id);
    if (row < 0) return false;
    this.readRow(row, into);
    return true;
  }

  readRow(row: number, into: StatPoint): void {
    const s = this.stats;
    const o = row * STAT_STRIDE;
    into.time = this.start;
    into.min = s[o + MIN]!;
    into.max = s[o + MAX]!;
    into.sum = s[o + SUM]!;
    into.first = s[o + FIRST]!;
    into.last = s[o + LAST]!;
    into.count = s[o + COUNT]!;
    into.firstTime = this.times[row * TIME_STRIDE + TIME_FIRST]!;
    into.lastTime = this.times[row * TIME_STRIDE + TIME_LAST]!;
  }

  seriesAt(row: number): number {
    return this.seriesOf[row]!;
  }

  /** Stores `point` as series `id`'s StatPoint, adding a row if it has none. */
  write(id: number, point: StatPoint): void {
    const row = this.rowFor(id);
    const firstTime = point.firstTime ?? point.time;
    const lastTime = point.lastTime ?? point.time;
    if (row < 0) {
      this.append(id, point.min, point.max, point.sum, point.first, point.last, point.count, firstTime, lastTime);
      return;
    }
    this.times[row * TIME_STRIDE + TIME_FIRST] = firstTime;
    this.times[row * TIME_STRIDE + TIME_LAST] = lastTime;
    const s = this.stats;
    const o = row * STAT_STRIDE;
    s[o + MIN] = point.min;
    s[o + MAX] = point.max;
    s[o + SUM] = point.sum;
    s[o + FIRST] = point.first;
    s[o + LAST] = point.last;
    s[o + COUNT] = point.count;
  }

  /**
   * The window as a FlushBatch. A row whose StatPoint is not finite (a sum past ±1.8e308, or StatsD output that
   * overflowed) is left out and counted through `onNonFinite`: no store can keep it, and Graphite refuses it.
   */
  toBatch(resolution: Resolution, nameOf: (id: number) => string, onNonFinite: () => void): FlushBatch {
    const stats = this.stats.slice(0, this.rows * STAT_STRIDE);
    const times = Float64Array.from(this.times.subarray(0, this.rows * TIME_STRIDE));
    const names: string[] = [];
    let kept = 0;
    for (let row = 0; row < this.rows; row++) {
      const o = row * STAT_STRIDE;
      if (!isFiniteRow(stats, o)) {
        onNonFinite();
        continue;
      }
      if (kept !== row) {
        stats.copyWithin(kept * STAT_STRIDE, o, o + STAT_STRIDE);
        times.copyWithin(kept * TIME_STRIDE, row * TIME_STRIDE, (row + 1) * TIME_STRIDE);
      }
      names.push(nameOf(this.seriesOf[row]!));
      kept++;
    }
    return {
      resolution,
      time: this.start,
      names,
      stats: kept === this.rows ? stats : stats.slice(0, kept * STAT_STRIDE),
      times: kept === this.rows ? times : times.slice(0, kept * TIME_STRIDE),
    };
  }

  private append(
    id: number,
    min: number,
    max: number,
    sum: number,
    first: number,
    last: number,
    count: number,
    firstTime: number,
    lastTime: number,
  ): void {
    if (id >= this.rowOf.length) this.rowOf = grow(this.rowOf, id + 1);
    const row = this.rows++;
    if (row >= this.seriesOf.length) {
      this.seriesOf = grow(this.seriesOf, row + 1);
      const stats = new Float64Array(this.seriesOf.length * STAT_STRIDE);
      stats.set(this.stats);
      this.stats = stats;
      const times = new Uint32Array(this.seriesOf.length * TIME_STRIDE);
      times.set(this.times);
      this.times = times;
    }
    this.rowOf[id] = row + 1;
    this.seriesOf[row] = id;
    const s = this.stats;
    const o = row * STAT_STRIDE;
    s[o + MIN] = min;
    s[o + MAX] = max;
    s[o + SUM] = sum;
    s[o + FIRST] = first;
    s[o + LAST] = last;
    s[o + COUNT] = count;
    this.times[row * TIME_STRIDE + TIME_FIRST] = firstTime;
    this.times[row * TIME_STRIDE + TIME_LAST] = lastTime;
  }
}

function isFiniteRow(stats: Float64Array, o: number): boolean {
  // x - x is 0 for finite x and NaN for ±Infinity and NaN: one test for the whole row.
  let probe = 0;
  for (let i = 0; i < STAT_STRIDE; i++) probe += stats[o + i]! - stats[o + i]!;
  return probe === 0;
}

function grow(array: Int32Array, atLeast: number): Int32Array {
  let length = array.length * 2;
  while (length < atLeast) length *= 2;
  const grown = new Int32Array(length);
  grown.set(array);
  return grown;
}
