/** One point of a chunk with its derived values, as the formatting writers (file, archive, http, kafka) see it. */
import {
  STAT_COUNT,
  STAT_FIRST,
  STAT_LAST,
  STAT_MAX,
  STAT_MIN,
  STAT_STRIDE,
  STAT_SUM,
  type FlushBatch,
} from '@carillon/core';

export interface PointRow {
  name: string;
  /** Window start, epoch seconds. */
  time: number;
  step: number;
  ttl: number;
  sum: number;
  mean: number;
  min: number;
  max: number;
  first: number;
  last: number;
  count: number;
}

/** What of a FlushBatch a row is made of (a batch posted to a thread may carry only this). */
export type RowBatch = Pick<FlushBatch, 'time' | 'names' | 'stats'> & {
  resolution: Pick<FlushBatch['resolution'], 'step' | 'ttl'>;
};

/** Calls `each` for every point of the chunk, in order. */
export function forEachRow(chunk: readonly RowBatch[], each: (row: PointRow) => void): void {
  for (const batch of chunk) {
    const { stats, names, time } = batch;
    const { step, ttl } = batch.resolution;
    for (let i = 0; i < names.length; i++) {
      const o = i * STAT_STRIDE;
      const count = stats[o + STAT_COUNT]!;
      const sum = stats[o + STAT_SUM]!;
      each({
        name: names[i]!,
        time,
        step,
        ttl,
        sum,
        mean: count === 0 ? 0 : sum / count,
        min: stats[o + STAT_MIN]!,
        max: stats[o + STAT_MAX]!,
        first: stats[o + STAT_FIRST]!,
        last: stats[o + STAT_LAST]!,
        count,
      });
    }
  }
}

/** Points in a chunk. */
export function chunkPoints(chunk: readonly FlushBatch[]): number {
  let n = 0;
  for (const batch of chunk) n += batch.names.length;
  return n;
}

/** `time` seconds as nanoseconds, exactly (beyond 2^53 as a Number would round). */
export function secondsToNs(seconds: number): string {
  return `${BigInt(seconds) * 1_000_000_000n}`;
}

/** A UTC time as `20261201T101500.123Z`, for file names that sort by time. */
export function utcStamp(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '');
}
