/**
 * The main thread's side of the single node's listener threads (listener-thread.ts): starts them (at once on fixed
 * ports; with a port 0 the first binds first and the others the ports it got), logs and aggregates every batch
 * of lines they hand over (LoggedIngest.ingestRead) and tells each what it took, merges their counters into the
 * node's registry, and stops them: each closes its listeners and hands over its last lines before it ends.
 */
import { Worker } from 'node:worker_threads';
import {
  builtWorkerScript,
  ReportingWorker,
  type ConfigInputs,
  type WorkerReport,
  type WorkerRequest,
  type Logger,
  type MetricsRegistry,
  type MetricsSnapshot,
} from '@carillon/core';
import type { IngestPorts } from '@carillon/protocols';
import type { LineFormat } from './line-ingest.js';
import type { LoggedIngest } from './logged-ingest.js';

export interface ListenerThreadStart {
  index: number;
  inputs: ConfigInputs;
  ports?: IngestPorts;
}

/** Buffers handed back to the thread that sent them, for its next batches. */
export interface SpareBuffers {
  lines: ArrayBuffer[];
  rows: ArrayBuffer[];
}

export type ToListenerThread = { type: 'taken'; bytes: number; spares: SpareBuffers } | WorkerRequest;

type Listening = { type: 'listening'; ports: IngestPorts; snapshot: MetricsSnapshot };

export type FromListenerThread =
  | Listening
  | Exclude<WorkerReport, { type: 'listening' }>
  | { type: 'lines'; format: LineFormat; lines: Uint8Array; rows: Float64Array | undefined };

/** How long a /metrics render waits for the threads' fresh counters before serving the last ones they sent. */
const COLLECT_TIMEOUT_MS = 1000;
/** How long a stopping thread may take to close its listeners and hand over its last lines. */
const STOP_TIMEOUT_MS = 10_000;

/** One listener thread: a ReportingWorker whose batches of lines are ingested here as they come. */
class ListenerThread {
  readonly thread: ReportingWorker<Listening, ToListenerThread>;
  /** Bytes taken since the thread was last told, and the buffers they came in, to go back to it. */
  private taken = 0;
  private spares: SpareBuffers = { lines: [], rows: [] };

  constructor(
    readonly index: number,
    worker: Worker,
    private readonly ingest: LoggedIngest,
    metrics: MetricsRegistry,
    logger: Logger,
  ) {
    this.thread = new ReportingWorker(`listener thread ${index}`, worker, metrics, `listener${index}`, logger, (m) => {
      const message = m as FromListenerThread;
      if (message.type === 'lines') this.take(message.format, message.lines, message.rows);
    });
  }

  /** One batch: logged and aggregated now; the thread hears what was taken once per turn, not per batch. */
  private take(format: LineFormat, lines: Uint8Array, rows: Float64Array | undefined): void {
    this.ingest.ingestRead(format, Buffer.from(lines.buffer, lines.byteOffset, lines.byteLength), rows);
    if (this.taken === 0) setImmediate(this.tellTaken);
    this.taken += lines.byteLength + (rows?.byteLength ?? 0);
    // Nothing keeps a batch's bytes once it is aggregated (names are interned, the log has written them).
    this.spares.lines.push(lines.buffer as ArrayBuffer);
    if (rows !== undefined) this.spares.rows.push(rows.buffer as ArrayBuffer);
  }

  private readonly tellTaken = (): void => {
    const spares = this.spares;
    this.spares = { lines: [], rows: [] };
    const taken: ToListenerThread = { type: 'taken', bytes: this.taken, spares };
    this.thread.send(taken, [...spares.lines, ...spares.rows]);
    this.taken = 0;
  };
}

export class ListenerThreads {
  private collectId = 0;

  private constructor(private readonly threads: ListenerThread[]) {}

  /** Starts `count` threads feeding `ingest`; resolves once every one listens. */
  static async start(
    inputs: ConfigInputs,
    count: number,
    ports: { zero: boolean },
    ingest: LoggedIngest,
    metrics: MetricsRegistry,
    logger: Logger,
  ): Promise<ListenerThreads> {
    const script = builtWorkerScript(import.meta.url, 'listener-thread');
    const threads: ListenerThread[] = [];
    const spawn = (index: number, bound?: IngestPorts): Promise<IngestPorts> => {
      const workerData: ListenerThreadStart = { index, inputs, ...(bound ? { ports: bound } : {}) };
      const worker = new Worker(script, { name: `listener-${index}`, workerData });
      const thread = new ListenerThread(index, worker, ingest, metrics, logger);
      threads.push(thread);
      return thread.thread.started().then((listening) => listening.ports);
    };
    const pool = new ListenerThreads(threads);
    try {
      if (ports.zero) {
        const first = await spawn(0);
        await Promise.all(Array.from({ length: count - 1 }, (_, i) => spawn(i + 1, first)));
      } else await Promise.all(Array.from({ length: count }, (_, i) => spawn(i)));
    } catch (error) {
      await pool.stop();
      throw error;
    }
    logger.info({ threads: count }, 'listener threads listening');
    return pool;
  }

  /** Why the node is not ready: a thread that exited (its share of the ports is gone with it). */
  notReady(): string | undefined {
    const gone = this.threads.filter((t) => t.thread.exited).map((t) => t.index);
    return gone.length === 0 ? undefined : `listener threads ${gone.join(', ')} exited`;
  }

  /** Brings the merged counters up to date (bounded wait). */
  async collect(): Promise<void> {
    const id = ++this.collectId;
    await Promise.all(this.threads.map((t) => t.thread.collect(id, COLLECT_TIMEOUT_MS)));
  }

  /** Each thread closes its listeners and hands over its last lines, which are taken before this resolves. */
  async stop(): Promise<void> {
    await Promise.all(this.threads.map((t) => t.thread.stop(STOP_TIMEOUT_MS)));
  }
}
