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
  /** Points a writer may hold queued in the worker before it drops whole shards (counted). */
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
    }
  | { type: 'close' };

export interface LaneStats {
  writer: WriterStats;
  /** Shards this writer dropped because its queue in the worker was full. */
  shardsDropped: number;
  pointsDropped: number;
  queuedPoints: number;
}

export type FromWorker =
  | { type: 'done'; seq: number; lane: number }
  | { type: 'stats'; lanes: Record<string, LaneStats> }
  | { type: 'closed'; lanes: Record<string, LaneStats> };
