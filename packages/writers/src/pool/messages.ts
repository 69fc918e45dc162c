/** Messages between the write pool (main thread) and its workers. Float64/BigInt64 buffers are transferred. */
import type { Resolution } from '@carillon/core';
import type { BlobOptions } from '../blob/options.js';
import type { CassandraOptions } from '../cassandra/options.js';
import type { WriterStats } from './shard-writer.js';

/** Which writers a worker builds; each kind names a factory in worker-writers.ts. */
export type WriterSpec =
  | { kind: 'cassandra'; name: string; options: CassandraOptions }
  | { kind: 'cassandra-blob'; name: string; options: CassandraOptions; blob: BlobOptions };

export interface WorkerSetup {
  worker: number;
  writers: WriterSpec[];
  /** Points a writer may hold queued in the worker; past it a shard is refused whole (counted) and handed back. */
  maxWriterQueuePoints: number;
  statsIntervalMs: number;
}

export type ToWorker =
  | {
      type: 'write';
      seq: number;
      resolution: Resolution;
      time: number;
      names: string[];
      ids: BigInt64Array;
      stats: Float64Array;
      times?: Float64Array;
      amend?: boolean;
    }
  | { type: 'close' };

export interface LaneStats {
  writer: WriterStats;
  /** Shards this writer refused because its queue in the worker was full (handed back for a retry). */
  shardsDropped: number;
  pointsDropped: number;
  queuedPoints: number;
}

export type FromWorker =
  /** `failed`: indexes in the worker's shard of the series the writer could not store (to retry), if any. */
  | { type: 'done'; seq: number; lane: number; failed?: readonly number[] }
  | { type: 'stats'; lanes: Record<string, LaneStats> }
  | { type: 'closed'; lanes: Record<string, LaneStats> };
