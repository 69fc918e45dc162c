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
/**
 * A table keeps its rows' series ids (`seriesOf`) only while it has fewer rows than 1/ROW_IDS_UNTIL of `rowOf`'s
 * length: a table of most series (an open window in steady state) finds them by a scan of `rowOf` when a flush
 * or merge needs them, at most ROW_IDS_UNTIL steps a row, and saves 4 bytes a row.
 */
const ROW_IDS_UNTIL = 8;

type TimeColumn = Uint8Array | Uint16Array | Uint32Array;
type CountColumn = Uint8Array | Uint16Array | Uint32Array | Float64Array;

/**
 * Every series' StatPoint for one window of one resolution, stored in columns so that adding a point allocates
 * nothing and a flush hands the columns to a FlushBatch. Rows are looked up by series id through `rowOf`
 * (row + 1, 0 = absent): an array index is much cheaper than a Map lookup per point. A row is kept narrow, since
 * an accumulator holds one in every open window for each active series: five Float64 values, a count in the
 * narrowest column the counts so far fit, and the first and last timestamps as seconds past the window's start in
 * the narrowest column its step fits.
 *
 * A table of `singles` (the finest windows, where a series sending at the finest step has one point a window)
 * keeps a row of one point as that one value (min, max, sum, first and last are all it); a row's second point
 * moves its values to a full row of `extra`, and its `values` slot then holds that row's number. A one-point row
 * is so 8 bytes of values instead of 40, a row of more points 48.
 */
export class WindowTable {
  /** Series id → row + 1; 0 means the series has no point in this window. */
  private rowOf: Int32Array;
  /** Row → series id (rows are in order of first arrival) while the table is sparse: see ROW_IDS_UNTIL. */
  private seriesOf: Int32Array | undefined;
  /**
   * VALUE_STRIDE columns per row: min, max, sum, first, last. With `extra` (a table of singles), one column: the
   * row's one value while its count is 1, else the number of its full row in `extra`.
   */
  private values: Float64Array;
  /** Full rows (VALUE_STRIDE columns) of a table of singles for its rows of more than one point; else undefined. */
  private extra: Float64Array | undefined;
  private extraRows = 0;
  /** Points per row, in Uint8 until a count passes 255, then in the narrowest column that holds it (widenCounts). */
  private counts: CountColumn;
  /** The largest count `counts` holds. */
  private maxCount = 0xff;
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
    singles = false,
  ) {
    this.rowOf = new Int32Array(Math.max(16, seriesCapacity));
    this.seriesOf = new Int32Array(64);
    this.values = new Float64Array(64 * (singles ? 1 : VALUE_STRIDE));
    if (singles) this.extra = new Float64Array(16 * VALUE_STRIDE);
    this.counts = new Uint8Array(64);
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
      const added = this.append(id, at, at);
      this.counts[added] = 1;
      if (this.extra !== undefined) this.values[added] = value;
      else this.values.fill(value, added * VALUE_STRIDE, (added + 1) * VALUE_STRIDE);
      return;
    }
    const count = this.counts[row]!;
    let o: number;
    if (this.extra === undefined) o = row * VALUE_STRIDE;
    else o = (count === 1 ? this.promote(row) : this.values[row]!) * VALUE_STRIDE;
    const s = this.extra ?? this.values;
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
    if (count >= this.maxCount) this.widenCounts(count + 1);
    this.counts[row] = count + 1;
  }

  /** Moves the one value of row `row` (of a table of singles) to a new full row of `extra`; returns its number. */
  private promote(row: number): number {
    const full = this.extraRows++;
    if (full * VALUE_STRIDE >= this.extra!.length) {
      const extra = new Float64Array(this.extra!.length * 2);
      extra.set(this.extra!);
      this.extra = extra;
    }
    const value = this.values[row]!;
    this.extra!.fill(value, full * VALUE_STRIDE, (full + 1) * VALUE_STRIDE);
    this.values[row] = full;
    return full;
  }

  /** Copies series `id`'s StatPoint into `into` (with this window's start); false if it has none. */
  read(id: number, into: StatPoint): boolean {
    const row = this.rowFor(id);
    if (row < 0) return false;
    this.readRow(row, into);
    return true;
  }

  readRow(row: number, into: StatPoint): void {
    const count = this.counts[row]!;
    into.time = this.start;
    into.count = count;
    if (this.extra !== undefined && count === 1) {
      const value = this.values[row]!;
      into.min = into.max = into.sum = into.first = into.last = value;
    } else {
      const s = this.extra ?? this.values;
      const o = this.offsetOf(row);
      into.min = s[o + MIN]!;
      into.max = s[o + MAX]!;
      into.sum = s[o + SUM]!;
      into.first = s[o + FIRST]!;
      into.last = s[o + LAST]!;
    }
    into.firstTime = this.start + this.times[row * TIME_STRIDE + TIME_FIRST]!;
    into.lastTime = this.start + this.times[row * TIME_STRIDE + TIME_LAST]!;
  }

  /** Where row `row`'s VALUE_STRIDE values begin in `extra` (a table of singles; not a one-point row) or `values`. */
  private offsetOf(row: number): number {
    return (this.extra === undefined ? row : this.values[row]!) * VALUE_STRIDE;
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
    let row = this.rowFor(id);
    const firstAt = (point.firstTime ?? point.time) - this.start;
    const lastAt = (point.lastTime ?? point.time) - this.start;
    if (row < 0) row = this.append(id, firstAt, lastAt);
    else {
      this.times[row * TIME_STRIDE + TIME_FIRST] = firstAt;
      this.times[row * TIME_STRIDE + TIME_LAST] = lastAt;
    }
    this.setValues(row, point.min, point.max, point.sum, point.first, point.last, point.count);
  }

  /**
   * Row `row`'s values and count. In a table of singles a count of 1 is kept as its one value (a one-point
   * StatPoint's values are all that point's; a full row it had is left unused), a greater one in a full row.
   */
  private setValues(row: number, min: number, max: number, sum: number, first: number, last: number, count: number) {
    if (count > this.maxCount) this.widenCounts(count);
    const previous = this.counts[row]!;
    this.counts[row] = count;
    if (this.extra !== undefined) {
      if (count === 1) {
        if (!(Object.is(min, max) && Object.is(min, sum) && Object.is(min, first) && Object.is(min, last)))
          throw new RangeError('a StatPoint of one point has one value');
        this.values[row] = min;
        return;
      }
      if (previous <= 1) this.promote(row);
    }
    const s = this.extra ?? this.values;
    const o = this.offsetOf(row);
    s[o + MIN] = min;
    s[o + MAX] = max;
    s[o + SUM] = sum;
    s[o + FIRST] = first;
    s[o + LAST] = last;
  }

  /**
   * The window as a FlushBatch. A row whose StatPoint is not finite (a sum past ±1.8e308, or StatsD output that
   * overflowed) is left out and counted through `onNonFinite`: no store can keep it, and Graphite refuses it.
   */
  toBatch(resolution: Resolution, nameOf: (id: number) => string, onNonFinite: () => void): FlushBatch {
    const stats = new Float64Array(this.rows * STAT_STRIDE);
    const times = new Float64Array(this.rows * TIME_STRIDE);
    const names: string[] = [];
    const t = this.times;
    const seriesOf = this.seriesByRow();
    const point: StatPoint = { time: 0, min: 0, max: 0, sum: 0, first: 0, last: 0, count: 0 };
    let kept = 0;
    for (let row = 0; row < this.rows; row++) {
      this.readRow(row, point);
      // x - x is 0 for finite x and NaN for ±Infinity and NaN: one test for the whole row (a count is finite).
      if (
        point.min -
          point.min +
          (point.max - point.max) +
          (point.sum - point.sum) +
          (point.first - point.first) +
          (point.last - point.last) !==
        0
      ) {
        onNonFinite();
        continue;
      }
      const k = kept * STAT_STRIDE;
      stats[k + STAT_MIN] = point.min;
      stats[k + STAT_MAX] = point.max;
      stats[k + STAT_SUM] = point.sum;
      stats[k + STAT_FIRST] = point.first;
      stats[k + STAT_LAST] = point.last;
      stats[k + STAT_COUNT] = point.count;
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

  /** A count past what the count column holds: the column becomes the narrowest that holds `count`. */
  private widenCounts(count: number): void {
    this.maxCount = count <= 0xffff ? 0xffff : count <= 0xffff_ffff ? 0xffff_ffff : Number.MAX_SAFE_INTEGER;
    const counts = countColumn(this.maxCount, this.counts.length);
    counts.set(this.counts);
    this.counts = counts;
  }

  /** A new row for series `id`, its timestamps set (its values and count are the caller's to set): its number. */
  private append(id: number, firstAt: number, lastAt: number): number {
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
    this.times[row * TIME_STRIDE + TIME_FIRST] = firstAt;
    this.times[row * TIME_STRIDE + TIME_LAST] = lastAt;
    return row;
  }

  /** Doubles the room for rows. */
  private growRows(): void {
    const rows = this.counts.length * 2;
    if (this.seriesOf !== undefined) this.seriesOf = grow(this.seriesOf, rows);
    const values = new Float64Array(rows * (this.extra === undefined ? VALUE_STRIDE : 1));
    values.set(this.values);
    this.values = values;
    const counts = countColumn(this.maxCount, rows);
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

/** A count column of `length` that holds counts up to `maxCount` (see widenCounts). */
function countColumn(maxCount: number, length: number): CountColumn {
  if (maxCount <= 0xff) return new Uint8Array(length);
  if (maxCount <= 0xffff) return new Uint16Array(length);
  if (maxCount <= 0xffff_ffff) return new Uint32Array(length);
  return new Float64Array(length);
}

function grow(array: Int32Array, atLeast: number): Int32Array {
  let length = array.length * 2;
  while (length < atLeast) length *= 2;
  const grown = new Int32Array(length);
  grown.set(array);
  return grown;
}
