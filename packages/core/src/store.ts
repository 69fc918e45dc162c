import type { FlushBatch } from './batch.js';
import type { Resolution } from './resolution.js';
import type { StatPoint } from './statpoint.js';

/**
 * A destination for flushed windows. Archetypes: immediate (log), batched (file, kafka, cassandra flat),
 * connection-based (cassandra, redis, kafka: lazy connect, reconnect with backoff, timeouts on every I/O),
 * pull (prometheus). Failures are counted by the writer. A write resolves once every series of the batch is
 * stored, refused for good (counted by reason), or handed back in `retry`; a rejected write means the whole
 * batch is to be written again.
 */
export interface Writer {
  readonly name: string;
  write(batch: FlushBatch): Promise<WriteOutcome | void>;
  close(): Promise<void>;
}

export interface WriteOutcome {
  /**
   * The series of the batch not stored for a reason that may pass (an I/O error, a full disk, a timeout): the
   * caller writes them again later, and relay batches holding their points are not acknowledged until then.
   */
  retry?: FlushBatch;
}

/** Values of one series at one resolution: `values[i]` is the window starting at `start + i * step`. */
export interface SeriesValues {
  start: number;
  step: number;
  values: (number | null)[];
}

/** What a store answers for reads: stored values of one series, one slot per window in [from, until). */
export interface SeriesReader {
  fetch(name: string, resolution: Resolution, from: number, until: number): Promise<(number | null)[]>;
  /**
   * `fetch` as a Float64Array of the same length, NaN where `fetch` has `null` or a value that is not finite (what
   * a render reads as None), for a reader that can make it without a boxed number per value (renders use it).
   * `into`, when given and of the read's length, may be filled and returned instead of a new array (a render
   * consolidating as it reads reuses it for every series).
   */
  fetchFloat64?(
    name: string,
    resolution: Resolution,
    from: number,
    until: number,
    into?: Float64Array,
  ): Promise<Float64Array>;
}

/** Windows the aggregator holds that no store has yet, so reads can include them. */
export interface PendingSource {
  /** StatPoints of `name` at `resolution` whose window starts in [from, until), oldest first. */
  pending(name: string, resolution: Resolution, from: number, until: number): StatPoint[];
}

/**
 * How a worker thread opens its own read-only SeriesReader of a store (render workers read there, off the ingest
 * thread): `module` (a file URL) exports `openWorkerReader(options)`; `options` must survive structured cloning.
 */
export interface WorkerReaderSpec {
  module: string;
  options: Record<string, string | number | boolean>;
}

/** What a WorkerReaderSpec's module exports: a reader that counts the reads it failed (read as empty). */
export type OpenWorkerReader = (options: WorkerReaderSpec['options']) => SeriesReader & { readonly errors: number };
