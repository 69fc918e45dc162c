import type { Resolution } from './resolution.js';
import type { StatPoint } from './statpoint.js';

/** Number of float64 columns per series in a FlushBatch: min, max, sum, first, last, count. */
export const STAT_STRIDE = 6;

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

export function batchPoint(batch: FlushBatch, i: number): StatPoint {
  const o = i * STAT_STRIDE;
  const s = batch.stats;
  return {
    time: batch.time,
    min: s[o]!,
    max: s[o + 1]!,
    sum: s[o + 2]!,
    first: s[o + 3]!,
    last: s[o + 4]!,
    count: s[o + 5]!,
  };
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
