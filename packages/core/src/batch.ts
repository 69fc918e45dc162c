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
}

/** Series i's StatPoint of a batch (or of any window's `time` and StatPoint columns, as a worker's slice holds them). */
export function batchPoint(batch: Pick<FlushBatch, 'time' | 'stats'>, i: number): StatPoint {
  return statPointAt(batch.stats, i, batch.time);
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
  return { resolution: batch.resolution, time: batch.time, names, stats };
}

/** Builds a batch from StatPoints that all belong to `time`'s window. */
export function makeBatch(
  resolution: Resolution,
  time: number,
  entries: ReadonlyArray<[string, StatPoint]>,
): FlushBatch {
  const stats = new Float64Array(entries.length * STAT_STRIDE);
  const names: string[] = new Array<string>(entries.length);
  entries.forEach(([name, p], i) => {
    names[i] = name;
    stats.set([p.min, p.max, p.sum, p.first, p.last, p.count], i * STAT_STRIDE);
  });
  return { resolution, time, names, stats };
}
