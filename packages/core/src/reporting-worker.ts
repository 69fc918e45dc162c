/**
 * The parent's side of a worker thread that listens for traffic and reports its counters: the relay's ingest
 * workers and the single node's listener threads. It resolves `started()` with the worker's `listening` message,
 * merges every snapshot the worker sends into the parent's registry (summed per label set: `absorb`), answers
 * `collect()` with fresh counters or, past a bound, the last ones sent, and `stop()`s it: the worker is asked to
 * stop, given a bounded time to say `stopped`, then terminated. Messages of its own kind go to `onMessage`.
 */
import type { Worker } from 'node:worker_threads';
import type { Logger } from './log.js';
import type { MetricsRegistry, MetricsSnapshot } from './metrics.js';

/** What every such worker sends; its own messages beside these go to `onMessage`. */
export type WorkerReport =
  | { type: 'listening'; snapshot: MetricsSnapshot }
  | { type: 'failed'; message: string }
  | { type: 'metrics'; snapshot: MetricsSnapshot; id?: number }
  | { type: 'stopped'; snapshot: MetricsSnapshot };

/** What the parent sends every such worker. */
export type WorkerRequest = { type: 'collect'; id: number } | { type: 'stop' };

export class ReportingWorker<
  Listening extends WorkerReport & { type: 'listening' },
  Request extends { type: string } = WorkerRequest,
> {
  exited = false;
  private readonly collects = new Map<number, () => void>();
  private stopped: (() => void) | undefined;

  constructor(
    /** How logs and errors name it: `ingest worker 1`. */
    readonly name: string,
    readonly worker: Worker,
    private readonly metrics: MetricsRegistry,
    /** Its key among the registry's merged sources. */
    private readonly source: string,
    private readonly logger: Logger,
    /** Hears every message first (its own kinds, and the reports too). */
    private readonly onMessage: (message: unknown) => void = () => {},
  ) {}

  /** Resolves with its `listening` message; rejects if it fails or exits first. */
  started(): Promise<Listening> {
    return new Promise((resolve, reject) => {
      this.worker.on('message', (message: WorkerReport | { type: string }) => {
        this.onMessage(message);
        if (!isReport(message)) return;
        if (message.type === 'failed') reject(new Error(`${this.name}: ${message.message}`));
        else {
          this.metrics.absorb(this.source, message.snapshot);
          if (message.type === 'listening') resolve(message as Listening);
          else if (message.type === 'stopped') this.stopped?.();
          else if (message.id !== undefined) this.collects.get(message.id)?.();
        }
      });
      // Also after listening: an uncaught error ends the worker (its owner reports it not ready).
      this.worker.on('error', (error) => {
        this.logger.error({ err: error, worker: this.name }, `${this.name} failed`);
        reject(error);
      });
      this.worker.once('exit', (code) => {
        this.exited = true;
        this.stopped?.();
        for (const done of this.collects.values()) done();
        reject(new Error(`${this.name} exited (code ${code}) before listening`));
      });
    });
  }

  send(message: Request | WorkerRequest, transfer: ArrayBuffer[] = []): void {
    if (!this.exited) this.worker.postMessage(message, transfer);
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
      this.send({ type: 'collect', id } satisfies WorkerRequest);
    });
  }

  /** Asks it to stop, waits for its `stopped` at most `timeoutMs`, then terminates it. */
  async stop(timeoutMs: number): Promise<void> {
    if (!this.exited) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        this.stopped = () => {
          clearTimeout(timer);
          resolve();
        };
        this.send({ type: 'stop' } satisfies WorkerRequest);
      });
    }
    await this.worker.terminate();
  }
}

const REPORTS: ReadonlySet<string> = new Set(['listening', 'failed', 'metrics', 'stopped']);

function isReport(message: WorkerReport | { type: string }): message is WorkerReport {
  return REPORTS.has(message.type);
}
