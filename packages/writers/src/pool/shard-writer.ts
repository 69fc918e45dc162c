/**
 * What the write pool's workers run: writers that take one shard of a flush batch. Every archetype fits it —
 * immediate (log: write does the work), batched (buffer in write, send on size or time), connection-based
 * (cassandra: lazy connect, reconnect with backoff, timeouts on every statement), pull (keep the latest values
 * in write, serve them on scrape). A writer never throws for a failed row: it counts it in its stats and hands
 * its index back, so the pool can give the series back to the writer sink for a retry (an ack means stored).
 */
import type { Resolution } from '@carillon/core';

/** The series of one flush batch that hash to one worker, columnar like core's FlushBatch. */
export interface ShardBatch {
  resolution: Resolution;
  /** Window start, epoch seconds. */
  time: number;
  /** Canonical names. */
  names: string[];
  /** Series ids (FNV-1a 64, signed), one per name. */
  ids: BigInt64Array;
  /** Six columns per series: min, max, sum, first, last, count (core STAT_STRIDE). */
  stats: Float64Array;
  /** Two columns per series: the first and last point's timestamps (core TIME_STRIDE); absent: the window start. */
  times?: Float64Array;
  /** Merge into the stored window (read, core mergeStatPoint with the stored point first, rewrite) rather than write. */
  amend?: boolean;
}

/** Counters a writer keeps, summed over workers into the main thread's registry. */
export const WRITER_STATS = {
  rows_written: 'Data rows a pool writer wrote',
  rows_failed: 'Data rows a pool writer gave up on after its retries',
  retries: 'Statements a pool writer retried after an error or timeout',
  index_rows_written: 'Path, segment and tag index rows written',
  index_cache_hits: 'Series whose index rows were skipped because the dedupe cache knew them',
  index_rows_failed: 'Index rows not written after retries (written again at a later flush)',
} as const;

export type WriterStatName = keyof typeof WRITER_STATS;
export type WriterStats = Record<WriterStatName, number>;

export function emptyWriterStats(): WriterStats {
  return zeroStats(WRITER_STATS);
}

/** A counter record with every name of `descriptions` at 0, in their order (writer stats, chunk cache stats). */
export function zeroStats<Name extends string>(descriptions: Readonly<Record<Name, string>>): Record<Name, number> {
  const stats = {} as Record<Name, number>;
  for (const key of Object.keys(descriptions) as Name[]) stats[key] = 0;
  return stats;
}

export interface ShardWriter {
  readonly name: string;
  /**
   * Resolves when the shard is written or its failures are counted, with the indexes (ascending) of the series it
   * could not store after its retries; never rejects for a row.
   */
  write(batch: ShardBatch): Promise<readonly number[] | void>;
  stats(): WriterStats;
  close(): Promise<void>;
}
