import {
  STAT_COUNT,
  STAT_FIRST,
  STAT_LAST,
  STAT_MAX,
  STAT_MIN,
  STAT_STRIDE,
  STAT_SUM,
  TIME_FIRST,
  TIME_LAST,
  TIME_STRIDE,
  type FlushBatch,
  type Resolution,
  type StatPoint,
} from '@carillon/core';

/** Float64 columns per row: every StatPoint value but the count, which has a column of its own. */
const VALUE_STRIDE = 5;
const MIN = 0;
const MAX = 1;
const SUM = 2;
const FIRST = 3;
const LAST = 4;
/** The largest count a Uint32 count column holds; past it the column is widened to Float64 (exact to 2^53). */
const MAX_NARROW_COUNT = 0xffff_ffff;
/**
 * A table keeps its rows' series ids (`seriesOf`) only while it has fewer rows than 1/ROW_IDS_UNTIL of `rowOf`'s
 * length: a table of most series (an open window in steady state) finds them by a scan of `rowOf` when a flush
 * or merge needs them, at most ROW_IDS_UNTIL steps a row, and saves 4 bytes a row.
 */
const ROW_IDS_UNTIL = 8;

type TimeColumn = Uint8Array | Uint16Array | Uint32Array;
type CountColumn = Uint32Array | Float64Array;

/**
 * Every series' StatPoint for one window of one resolution, stored in columns so that adding a point allocates
 * nothing and a flush hands the columns to a FlushBatch. Rows are looked up by series id through `rowOf`
 * (row + 1, 0 = absent): an array index is much cheaper than a Map lookup per point. A row is kept narrow, since
 * an accumulator holds one in every open window for each active series: five Float64 values, a Uint32 count, and
 * the first and last timestamps as seconds past the window's start in the narrowest column its step fits.
 */
export class WindowTable {
  /** Series id → row + 1; 0 means the series has no point in this window. */
  private rowOf: Int32Array;
  /** Row → series id (rows are in order of first arrival) while the table is sparse: see ROW_IDS_UNTIL. */
  private seriesOf: Int32Array | undefined;
  /** VALUE_STRIDE columns per row: min, max, sum, first, last. */
  private values: Float64Array;
  /** Points per row: Uint32 until a row passes MAX_NARROW_COUNT (widenCounts), then Float64, exact either way. */
  private counts: CountColumn;
  /**
   * TIME_STRIDE columns per row: timestamps of the first and last point (first/last go by timestamp), as seconds
   * past `start`. Timestamps are whole epoch seconds (GraphiteSample.timestamp) inside the window, so an offset
   * is below the step: one byte for steps up to 256 s, two up to 65,536 s.
   */
  private times: TimeColumn;
  /** Rows in use: the number of points (series) this window holds. */
  rows = 0;

  constructor(
    readonly start: number,
    readonly end: number,
    seriesCapacity: number,
  ) {
    this.rowOf = new Int32Array(Math.max(16, seriesCapacity));
    this.seriesOf = new Int32Array(64);
    this.values = new Float64Array(64 * VALUE_STRIDE);
    this.counts = new Uint32Array(64);
    this.times = timeColumn(end - start, 64 * TIME_STRIDE);
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
    const at = timestamp - this.start;
    if (row < 0) {
      this.append(id, value, value, value, value, value, 1, at, at);
      return;
    }
    const s = this.values;
    const o = row * VALUE_STRIDE;
    if (value < s[o + MIN]!) s[o + MIN] = value;
    if (value > s[o + MAX]!) s[o + MAX] = value;
    s[o + SUM]! += value;
    const t = this.times;
    const to = row * TIME_STRIDE;
    if (at < t[to + TIME_FIRST]!) {
      s[o + FIRST] = value;
      t[to + TIME_FIRST] = at;
    }
    if (at >= t[to + TIME_LAST]!) {
      s[o + LAST] = value;
      t[to + TIME_LAST] = at;
    }
    const count = this.counts[row]! + 1;
    if (count > MAX_NARROW_COUNT) this.widenCounts();
    this.counts[row] = count;
  }

  /** Copies series `id`'s StatPoint into `into` (with this window's start); false if it has none. */
  read(id: number, into: StatPoint): boolean {
    const row = this.rowFor(id);
    if (row < 0) return false;
    this.readRow(row, into);
    return true;
  }

  readRow(row: number, into: StatPoint): void {
    const s = this.values;
    const o = row * VALUE_STRIDE;
    into.time = this.start;
    into.min = s[o + MIN]!;
    into.max = s[o + MAX]!;
    into.sum = s[o + SUM]!;
    into.first = s[o + FIRST]!;
    into.last = s[o + LAST]!;
    into.count = this.counts[row]!;
    into.firstTime = this.start + this.times[row * TIME_STRIDE + TIME_FIRST]!;
    into.lastTime = this.start + this.times[row * TIME_STRIDE + TIME_LAST]!;
  }

  /** Row → series id for every row (the table's own column, or one made from `rowOf`: do not change it). */
  seriesByRow(): Int32Array {
    return this.seriesOf ?? this.rowIds(this.rows);
  }

  /** Row → series id, made from `rowOf`, in an array of `length` (at least `rows`). */
  private rowIds(length: number): Int32Array {
    const byRow = new Int32Array(length);
    const rowOf = this.rowOf;
    for (let id = 0; id < rowOf.length; id++) {
      const row = rowOf[id]!;
      if (row > 0) byRow[row - 1] = id;
    }
    return byRow;
  }

  /** Stores `point` (a StatPoint of this window) as series `id`'s, adding a row if it has none. */
  write(id: number, point: StatPoint): void {
    const row = this.rowFor(id);
    const firstAt = (point.firstTime ?? point.time) - this.start;
    const lastAt = (point.lastTime ?? point.time) - this.start;
    if (row < 0) {
      this.append(id, point.min, point.max, point.sum, point.first, point.last, point.count, firstAt, lastAt);
      return;
    }
    this.times[row * TIME_STRIDE + TIME_FIRST] = firstAt;
    this.times[row * TIME_STRIDE + TIME_LAST] = lastAt;
    const s = this.values;
    const o = row * VALUE_STRIDE;
    s[o + MIN] = point.min;
    s[o + MAX] = point.max;
    s[o + SUM] = point.sum;
    s[o + FIRST] = point.first;
    s[o + LAST] = point.last;
    if (point.count > MAX_NARROW_COUNT) this.widenCounts();
    this.counts[row] = point.count;
  }

  /**
   * The window as a FlushBatch. A row whose StatPoint is not finite (a sum past ±1.8e308, or StatsD output that
   * overflowed) is left out and counted through `onNonFinite`: no store can keep it, and Graphite refuses it.
   */
  toBatch(resolution: Resolution, nameOf: (id: number) => string, onNonFinite: () => void): FlushBatch {
    const stats = new Float64Array(this.rows * STAT_STRIDE);
    const times = new Float64Array(this.rows * TIME_STRIDE);
    const names: string[] = [];
    const s = this.values;
    const t = this.times;
    const seriesOf = this.seriesByRow();
    let kept = 0;
    for (let row = 0; row < this.rows; row++) {
      const o = row * VALUE_STRIDE;
      if (!isFiniteRow(s, o)) {
        onNonFinite();
        continue;
      }
      const k = kept * STAT_STRIDE;
      stats[k + STAT_MIN] = s[o + MIN]!;
      stats[k + STAT_MAX] = s[o + MAX]!;
      stats[k + STAT_SUM] = s[o + SUM]!;
      stats[k + STAT_FIRST] = s[o + FIRST]!;
      stats[k + STAT_LAST] = s[o + LAST]!;
      stats[k + STAT_COUNT] = this.counts[row]!;
      times[kept * TIME_STRIDE + TIME_FIRST] = this.start + t[row * TIME_STRIDE + TIME_FIRST]!;
      times[kept * TIME_STRIDE + TIME_LAST] = this.start + t[row * TIME_STRIDE + TIME_LAST]!;
      names.push(nameOf(seriesOf[row]!));
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

  /** A count past what Uint32 holds (2^32 points of one series in one window): the column becomes Float64. */
  private widenCounts(): void {
    if (this.counts instanceof Float64Array) return;
    this.counts = Float64Array.from(this.counts);
  }

  private append(
    id: number,
    min: number,
    max: number,
    sum: number,
    first: number,
    last: number,
    count: number,
    firstAt: number,
    lastAt: number,
  ): void {
    if (id >= this.rowOf.length) {
      this.rowOf = grow(this.rowOf, id + 1);
      // Sparse again once the ids outgrew the rows: the scan would cost more than ROW_IDS_UNTIL steps a row.
      if (this.seriesOf === undefined && this.rows * ROW_IDS_UNTIL < this.rowOf.length)
        this.seriesOf = this.rowIds(this.counts.length);
    }
    const row = this.rows++;
    if (row >= this.counts.length) this.growRows();
    this.rowOf[id] = row + 1;
    if (this.seriesOf !== undefined) {
      if (this.rows * ROW_IDS_UNTIL >= this.rowOf.length) this.seriesOf = undefined;
      else this.seriesOf[row] = id;
    }
    const s = this.values;
    const o = row * VALUE_STRIDE;
    s[o + MIN] = min;
    s[o + MAX] = max;
    s[o + SUM] = sum;
    s[o + FIRST] = first;
    s[o + LAST] = last;
    if (count > MAX_NARROW_COUNT) this.widenCounts();
    this.counts[row] = count;
    this.times[row * TIME_STRIDE + TIME_FIRST] = firstAt;
    this.times[row * TIME_STRIDE + TIME_LAST] = lastAt;
  }

  /** Doubles the room for rows. */
  private growRows(): void {
    const rows = this.counts.length * 2;
    if (this.seriesOf !== undefined) this.seriesOf = grow(this.seriesOf, rows);
    const values = new Float64Array(rows * VALUE_STRIDE);
    values.set(this.values);
    this.values = values;
    const counts = this.counts instanceof Float64Array ? new Float64Array(rows) : new Uint32Array(rows);
    counts.set(this.counts);
    this.counts = counts;
    const times = timeColumn(this.end - this.start, rows * TIME_STRIDE);
    times.set(this.times);
    this.times = times;
  }
}

/** A column of `length` offsets below `step` seconds, in the narrowest unsigned type that holds them. */
function timeColumn(step: number, length: number): TimeColumn {
  if (step <= 0x100) return new Uint8Array(length);
  if (step <= 0x1_0000) return new Uint16Array(length);
  return new Uint32Array(length);
}

function isFiniteRow(values: Float64Array, o: number): boolean {
  // x - x is 0 for finite x and NaN for ±Infinity and NaN: one test for the whole row (a count is always finite).
  let probe = 0;
  for (let i = 0; i < VALUE_STRIDE; i++) probe += values[o + i]! - values[o + i]!;
  return probe === 0;
}

function grow(array: Int32Array, atLeast: number): Int32Array {
  let length = array.length * 2;
  while (length < atLeast) length *= 2;
  const grown = new Int32Array(length);
  grown.set(array);
  return grown;
}
