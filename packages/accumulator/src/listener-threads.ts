/**
 * The main thread's side of the single node's listener threads (listener-thread.ts): starts them (at once on fixed
 * ports; with a port 0 the first binds first and the others the ports it got), logs and aggregates every batch
 * of lines they hand over (LoggedIngest.ingestRead) and tells each what it took, merges their counters into the
 * node's registry, and stops them: each closes its listeners and hands over its last lines before it ends.
 */
import { Worker } from 'node:worker_threads';
import {
  builtWorkerScript,
  type ConfigInputs,
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

export type ToListenerThread =
  { type: 'taken'; bytes: number; spares: SpareBuffers } | { type: 'collect'; id: number } | { type: 'stop' };

export type FromListenerThread =
  | { type: 'listening'; ports: IngestPorts; snapshot: MetricsSnapshot }
  | { type: 'failed'; message: string }
  | { type: 'lines'; format: LineFormat; lines: Uint8Array; rows: Float64Array | undefined }
  | { type: 'metrics'; snapshot: MetricsSnapshot; id?: number }
  | { type: 'stopped'; snapshot: MetricsSnapshot };

/** How long a /metrics render waits for the threads' fresh counters before serving the last ones they sent. */
const COLLECT_TIMEOUT_MS = 1000;
/** How long a stopping thread may take to close its listeners and hand over its last lines. */
const STOP_TIMEOUT_MS = 10_000;

class ListenerThread {
  exited = false;
  /** Bytes taken since the thread was last told, and the buffers they came in, to go back to it. */
  private taken = 0;
  private spares: SpareBuffers = { lines: [], rows: [] };
  private readonly collects = new Map<number, () => void>();
  private stopped: (() => void) | undefined;

  constructor(
    readonly index: number,
    private readonly worker: Worker,
    private readonly ingest: LoggedIngest,
    private readonly metrics: MetricsRegistry,
    private readonly logger: Logger,
  ) {}

  /** Resolves with the bound ports once it listens; rejects if it fails to start. */
  started(): Promise<IngestPorts> {
    return new Promise((resolve, reject) => {
      this.worker.on('message', (message: FromListenerThread) => {
        if (message.type === 'lines') this.take(message.format, message.lines, message.rows);
        else if (message.type === 'failed') reject(new Error(`listener thread ${this.index}: ${message.message}`));
        else {
          this.metrics.absorb(`listener${this.index}`, message.snapshot);
          if (message.type === 'listening') resolve(message.ports);
          else if (message.type === 'stopped') this.stopped?.();
          else if (message.id !== undefined) this.collects.get(message.id)?.();
        }
      });
      // Also after listening: an uncaught error ends the thread (its exit makes the node not ready).
      this.worker.on('error', (error) => {
        this.logger.error({ err: error, thread: this.index }, 'listener thread failed');
        reject(error);
      });
      this.worker.once('exit', (code) => {
        this.exited = true;
        this.stopped?.();
        for (const done of this.collects.values()) done();
        reject(new Error(`listener thread ${this.index} exited (code ${code}) before listening`));
      });
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
    if (!this.exited)
      this.worker.postMessage({ type: 'taken', bytes: this.taken, spares } satisfies ToListenerThread, [
        ...spares.lines,
        ...spares.rows,
      ]);
    this.taken = 0;
  };

  send(message: ToListenerThread): void {
    if (!this.exited) this.worker.postMessage(message);
  }

  /** Fresh counters, or after `timeoutMs` the last ones sent. */
  collect(id: number, timeoutMs: number): Promise<void> {
    if (this.exited) return Promise.resolve();
    return new Promise((resolve) => {
      const collects = this.collects;
      const timer = setTimeout(done, timeoutMs);
      function done(): void {
        clearTimeout(timer);
        collects.delete(id);
        resolve();
      }
      collects.set(id, done);
      this.send({ type: 'collect', id });
    });
  }

  async stop(): Promise<void> {
    if (!this.exited) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, STOP_TIMEOUT_MS);
        this.stopped = () => {
          clearTimeout(timer);
          resolve();
        };
        this.send({ type: 'stop' });
      });
    }
    await this.worker.terminate();
  }
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
      return thread.started();
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
    const gone = this.threads.filter((t) => t.exited).map((t) => t.index);
    return gone.length === 0 ? undefined : `listener threads ${gone.join(', ')} exited`;
  }

  /** Brings the merged counters up to date (bounded wait). */
  async collect(): Promise<void> {
    const id = ++this.collectId;
    await Promise.all(this.threads.map((t) => t.collect(id, COLLECT_TIMEOUT_MS)));
  }

  /** Each thread closes its listeners and hands over its last lines, which are taken before this resolves. */
  async stop(): Promise<void> {
    await Promise.all(this.threads.map((t) => t.stop()));
  }
}
