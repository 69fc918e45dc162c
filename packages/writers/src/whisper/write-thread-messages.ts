/** Messages between the whisper write thread (write-thread.ts) and its worker (write-thread-worker.ts). */
import type { FlushBatch, MetricsSnapshot, WriteOutcome } from '@carillon/core';
import type { LevelWithSilent } from 'pino';
import type { WhisperStoreConfig } from './store.js';

export interface WriteThreadSetup {
  /** Structured-cloned: rules' RegExps survive it. */
  config: WhisperStoreConfig;
  logLevel: LevelWithSilent;
  /** How often the thread sends its counters while it is idle (they also come with every answer). */
  metricsIntervalMs: number;
}

/** The batches handed over in one turn of the ingest thread, in order (a flush's, or a backlog's, together). */
export type ToWriteThread = { type: 'write'; writes: { seq: number; batch: FlushBatch }[] } | { type: 'close' };

export type FromWriteThread =
  | { type: 'done'; seq: number; outcome: WriteOutcome; metrics: MetricsSnapshot }
  | { type: 'metrics'; metrics: MetricsSnapshot }
  | { type: 'closed'; metrics: MetricsSnapshot };
