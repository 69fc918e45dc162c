/**
 * The whisper store's writes on a thread of their own. A file update is about ten positioned calls of a few bytes
 * each; through libuv's thread pool each costs several times the call, and the ingest thread pays for the round
 * trips. The write thread (write-thread-worker.ts) runs a WhisperStore with synchronous calls instead, about a
 * third of the CPU per point (docs/BENCHMARKS.md). Batches are copied to it (the sink and the other writers keep
 * theirs); what it could not store comes back in `retry`, as from the store itself. If the thread dies, the
 * batches it held are handed back for the sink's retry and a new thread starts.
 */
import { Worker } from 'node:worker_threads';
import type { FlushBatch, Logger, MetricsRegistry, WriteOutcome, Writer } from '@carillon/core';
import { builtThreadScript } from '../thread-script.js';
import type { WhisperStoreConfig } from './store.js';
import type { FromWriteThread, ToWriteThread, WriteThreadSetup } from './write-thread-messages.js';

const RESTART_DELAY_MS = 1_000;
const METRICS_INTERVAL_MS = 1_000;
const METRICS_SOURCE = 'whisper-write-thread';

interface Waiting {
  batch: FlushBatch;
  settle: (outcome: WriteOutcome) => void;
}

export class WhisperWriteThread implements Writer {
  readonly name = 'whisper';
  private readonly script = builtThreadScript(import.meta.url, 'write-thread-worker.js', 'whisper write thread');
  private readonly setup: WriteThreadSetup;
  private worker: Worker | undefined;
  private readonly waiting = new Map<number, Waiting>();
  private seq = 0;
  private outbox: { seq: number; batch: FlushBatch }[] = [];
  private closing: Promise<void> | undefined;
  private readonly restarts;

  constructor(
    config: WhisperStoreConfig,
    private readonly deps: { metrics: MetricsRegistry; logger?: Logger },
  ) {
    this.setup = {
      config,
      logLevel: (deps.logger?.level as WriteThreadSetup['logLevel'] | undefined) ?? 'silent',
      metricsIntervalMs: METRICS_INTERVAL_MS,
    };
    this.restarts = deps.metrics
      .counter('whisper_write_thread_restarts_total', 'Whisper write threads started again after one died')
      .labels();
    this.worker = this.start();
  }

  write(batch: FlushBatch): Promise<WriteOutcome> {
    const worker = this.worker;
    // Down between a death and its restart, or closed: the sink keeps the batch and writes it again later.
    if (worker === undefined || this.closing !== undefined) return Promise.resolve({ retry: batch });
    const seq = ++this.seq;
    return new Promise((settle) => {
      this.waiting.set(seq, { batch, settle });
      if (this.outbox.push({ seq, batch }) === 1) queueMicrotask(() => this.post(worker));
    });
  }

  /** The batches handed over in this turn, in one message: the thread writes them in one round. */
  private post(worker: Worker): void {
    const writes = this.outbox;
    if (writes.length === 0) return;
    this.outbox = [];
    // Died since: its exit handed back everything waiting, these included.
    if (this.worker === worker) worker.postMessage({ type: 'write', writes } satisfies ToWriteThread);
  }

  /** Liveness: the thread is running. */
  notLive(): string | undefined {
    return this.worker === undefined && this.closing === undefined ? 'whisper write thread restarting' : undefined;
  }

  /** Waits for every batch handed over to be written, then ends the thread. */
  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      const worker = this.worker;
      if (worker === undefined) return resolve();
      worker.once('exit', () => resolve());
      // Batches of this turn first: the thread closes its store on the message after them.
      if (this.outbox.length > 0) this.post(worker);
      worker.postMessage({ type: 'close' } satisfies ToWriteThread);
    });
    return this.closing;
  }

  private start(): Worker {
    const worker = new Worker(this.script, { workerData: this.setup, name: 'whisper-writer' });
    worker.on('message', (message: FromWriteThread) => {
      this.deps.metrics.absorb(METRICS_SOURCE, message.metrics);
      if (message.type !== 'done') return;
      const waiting = this.waiting.get(message.seq);
      this.waiting.delete(message.seq);
      waiting?.settle(message.outcome);
    });
    worker.on('error', (error) => this.deps.logger?.error({ err: error }, 'whisper write thread failed'));
    worker.on('exit', (code) => {
      if (this.worker === worker) this.worker = undefined;
      // What it held is not known to be written: handed back whole, as the write pool does. Rewriting an on-time
      // slot is harmless; an amend it had merged is merged again, as after a crash (docs/ARCHITECTURE.md).
      for (const { batch, settle } of this.waiting.values()) settle({ retry: batch });
      this.waiting.clear();
      if (this.closing !== undefined) return;
      this.deps.logger?.error({ code }, 'whisper write thread exited: starting another');
      setTimeout(() => {
        if (this.closing !== undefined) return;
        this.restarts.inc();
        this.worker = this.start();
      }, RESTART_DELAY_MS).unref();
    });
    return worker;
  }
}
