import type { Resolution } from './resolution.js';
import type { StatPoint } from './statpoint.js';

/** Number of float64 columns per series in a FlushBatch: min, max, sum, first, last, count. */
export const STAT_STRIDE = 6;

/** Offsets of each StatPoint field within a series' STAT_STRIDE columns. */
export const STAT_MIN = 0;
export const STAT_MAX = 1;
export const STAT_SUM = 2;
export const STAT_FIRST = 3;
export const STAT_LAST = 4;
export const STAT_COUNT = 5;

/** Number of float64 columns per series in a FlushBatch's `times`: the first and last point's timestamps. */
export const TIME_STRIDE = 2;
export const TIME_FIRST = 0;
export const TIME_LAST = 1;

/**
 * Marks a batch as an amend: its StatPoints are points that arrived after the window was written, to be merged
 * into what is stored (core mergeStatPoint, the stored point as the earlier one), not written over it.
 */
export interface AmendInfo {
  /**
   * Start of the oldest finest window that was open when the amend's points were accepted: the relay batches
   * holding them become durable with that window, so while the amend is unstored the acks stop before it.
   */
  heldFrom: number;
}

/**
 * Every StatPoint of one resolution and one window, as the aggregator hands them to writers. Columnar so that
 * `stats.buffer` can be transferred to a worker thread instead of cloned: series i's StatPoint is
 * `stats[i*6 .. i*6+5]` = min, max, sum, first, last, count.
 */
export interface FlushBatch {
  resolution: Resolution;
  /** Window start, epoch seconds. */
  time: number;
  /** Canonical series names. */
  names: string[];
  stats: Float64Array;
  /**
   * TIME_STRIDE columns per series: the timestamps of its first and last point (StatPoint.firstTime/lastTime).
   * Absent: both are the window start (a batch built without them).
   */
  times?: Float64Array;
  /** Set when the batch is merged into stored windows rather than written (see AmendInfo). */
  amend?: AmendInfo;
}

/** Series i's StatPoint of a batch (or of any window's `time` and StatPoint columns, as a worker's slice holds them). */
export function batchPoint(batch: Pick<FlushBatch, 'time' | 'stats' | 'times'>, i: number): StatPoint {
  const point = statPointAt(batch.stats, i, batch.time);
  if (batch.times !== undefined) {
    point.firstTime = batch.times[i * TIME_STRIDE + TIME_FIRST]!;
    point.lastTime = batch.times[i * TIME_STRIDE + TIME_LAST]!;
  }
  return point;
}

/** The StatPoint in row i of STAT_STRIDE columns (min, max, sum, first, last, count), at `time`. */
export function statPointAt(stats: ArrayLike<number>, i: number, time: number): StatPoint {
  const o = i * STAT_STRIDE;
  return {
    time,
    min: stats[o + STAT_MIN]!,
    max: stats[o + STAT_MAX]!,
    sum: stats[o + STAT_SUM]!,
    first: stats[o + STAT_FIRST]!,
    last: stats[o + STAT_LAST]!,
    count: stats[o + STAT_COUNT]!,
  };
}

/** The series of `batch` at `indexes` (ascending), as a batch of their own. */
export function subsetBatch(batch: FlushBatch, indexes: readonly number[]): FlushBatch {
  const stats = new Float64Array(indexes.length * STAT_STRIDE);
  const names = indexes.map((from, to) => {
    stats.set(batch.stats.subarray(from * STAT_STRIDE, (from + 1) * STAT_STRIDE), to * STAT_STRIDE);
    return batch.names[from]!;
  });
  const subset: FlushBatch = { resolution: batch.resolution, time: batch.time, names, stats };
  if (batch.times !== undefined) {
    const times = new Float64Array(indexes.length * TIME_STRIDE);
    indexes.forEach((from, to) =>
      times.set(batch.times!.subarray(from * TIME_STRIDE, (from + 1) * TIME_STRIDE), to * TIME_STRIDE),
    );
    subset.times = times;
  }
  if (batch.amend !== undefined) subset.amend = batch.amend;
  return subset;
}

/** Builds a batch from StatPoints that all belong to `time`'s window (times kept when any point has them). */
export function makeBatch(
  resolution: Resolution,
  time: number,
  entries: ReadonlyArray<[string, StatPoint]>,
  amend?: AmendInfo,
): FlushBatch {
  const stats = new Float64Array(entries.length * STAT_STRIDE);
  const names: string[] = new Array<string>(entries.length);
  const withTimes = entries.some(([, p]) => p.firstTime !== undefined);
  const times = withTimes ? new Float64Array(entries.length * TIME_STRIDE) : undefined;
  entries.forEach(([name, p], i) => {
    names[i] = name;
    stats.set([p.min, p.max, p.sum, p.first, p.last, p.count], i * STAT_STRIDE);
    times?.set([p.firstTime ?? time, p.lastTime ?? time], i * TIME_STRIDE);
  });
  const batch: FlushBatch = { resolution, time, names, stats };
  if (times !== undefined) batch.times = times;
  if (amend !== undefined) batch.amend = amend;
  return batch;
}
