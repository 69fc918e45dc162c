/**
 * The aggregator's FlushSink over the configured writers. Each batch goes to every writer; the points each
 * writer has not finished are counted, and the sink reports itself overloaded while any writer is past the
 * high-water mark, so the aggregator skips the flush and keeps its windows pending instead of piling up
 * promises here. A writer's failure is counted and logged; it never stops the others.
 *
 * What a writer could not store for a reason that may pass (a rejected write, or the series it hands back in
 * `retry`) waits in that writer's retry queue and is written again every retry interval, oldest first. While a
 * finest window waits there, `unstoredSince` holds the flush watermark before it, so relay batches with points in
 * it are not acknowledged: an ack means stored. The queue is bounded in points; past it the oldest batches are
 * dropped, counted (their relay batches stay un-acked and are replayed after a restart).
 */
import type { FlushBatch, Logger, MetricsRegistry, Resolution, StatPoint, WriteOutcome, Writer } from '@carillon/core';
import type { FlushSink } from '@carillon/aggregator';
import { HeldWindows } from './held-windows.js';

/** A writer that may report its own backlog (the write pool's queue against its high-water mark). */
type SinkWriter = Writer & { overloaded?(): boolean };

export interface WriterSinkOptions {
  /** Points handed to one writer and not yet written; above it the sink is overloaded (flushes are skipped). */
  maxInFlightPoints: number;
  /** Points one writer keeps to write again after failures; past it the oldest batches are dropped (counted). */
  maxRetryPoints: number;
  /** How long failed batches wait before they are written again. */
  retryIntervalMs: number;
}

export const DEFAULT_WRITER_SINK_OPTIONS: WriterSinkOptions = {
  maxInFlightPoints: 2_000_000,
  maxRetryPoints: 2_000_000,
  retryIntervalMs: 1_000,
};

interface WriterState {
  writer: SinkWriter;
  inFlightPoints: number;
  /** Batches to write again, oldest first, and their points. */
  retries: FlushBatch[];
  retryPoints: number;
  /** A retry pass is running: batches it took are not in `retries` but not stored yet either. */
  retrying: FlushBatch[] | undefined;
}

export class WriterSink implements FlushSink {
  private readonly states: WriterState[];
  private readonly inFlight = new Set<Promise<void>>();
  private readonly batchesWritten;
  private readonly batchesFailed;
  private readonly writeSeconds;
  private readonly retriedPoints;
  private readonly retryDropped;
  private readonly retryTimer: NodeJS.Timeout;
  private closing = false;
  private readonly held = new HeldWindows();

  constructor(
    writers: readonly SinkWriter[],
    private readonly options: WriterSinkOptions,
    registry: MetricsRegistry,
    private readonly logger?: Logger,
  ) {
    this.states = writers.map((writer) => ({
      writer,
      inFlightPoints: 0,
      retries: [],
      retryPoints: 0,
      retrying: undefined,
    }));
    this.batchesWritten = registry.counter('writer_batches_total', 'Flush batches a writer finished', ['writer']);
    this.batchesFailed = registry.counter('writer_batch_errors_total', 'Flush batches a writer failed', ['writer']);
    this.writeSeconds = registry.histogram(
      'writer_batch_seconds',
      'Time a writer took for one flush batch',
      [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
      ['writer'],
    );
    this.retriedPoints = registry.counter(
      'writer_retried_points_total',
      'Points a writer could not store at first and was given again',
      ['writer'],
    );
    this.retryDropped = registry.counter(
      'writer_retry_dropped_points_total',
      'Points dropped from a retry queue past writers.max_retry_points, or still failing at close (never acked)',
      ['writer', 'reason'],
    );
    registry.gauge('writer_in_flight_points', 'Points handed to a writer and not yet written', ['writer'], (gauge) => {
      for (const state of this.states) gauge.labels(state.writer.name).set(state.inFlightPoints);
    });
    registry.gauge('writer_retry_points', 'Points waiting in a writer retry queue', ['writer'], (gauge) => {
      for (const state of this.states) gauge.labels(state.writer.name).set(state.retryPoints);
    });
    this.retryTimer = setInterval(() => this.retryAll(), options.retryIntervalMs);
    this.retryTimer.unref();
  }

  /** Past max in-flight points (retries included), or a writer (a write pool) reporting its own queue full. */
  overloaded(): boolean {
    return this.states.some(
      (state) =>
        state.inFlightPoints + state.retryPoints > this.options.maxInFlightPoints ||
        (state.writer.overloaded?.() ?? false),
    );
  }

  /**
   * Readiness of the writers: a writer holding points it failed to store (waiting for a retry: the store is down,
   * the disk full or unwritable) is failing; one past writers.max_in_flight_points, or reporting its own queue
   * full, is behind. Undefined when every writer stores and keeps up.
   */
  notReady(): string | undefined {
    const problems: string[] = [];
    for (const state of this.states) {
      const name = state.writer.name;
      let unstored = state.retryPoints;
      for (const batch of state.retrying ?? []) unstored += batch.names.length;
      if (unstored > 0) problems.push(`${name}: ${unstored} points failed to store, waiting for a retry`);
      else if (state.inFlightPoints > this.options.maxInFlightPoints)
        problems.push(`${name}: ${state.inFlightPoints} points in flight, over writers.max_in_flight_points`);
      else if (state.writer.overloaded?.() ?? false) problems.push(`${name}: its queue is over the high-water mark`);
    }
    return problems.length === 0 ? undefined : problems.join('; ');
  }

  write(batch: FlushBatch): void {
    // The first writer is the store: until it has the window, reads find it here (held-windows.ts).
    const release = this.states.length > 0 ? this.held.hold(batch) : undefined;
    this.states.forEach((state, i) => {
      const done = this.writeTo(state, batch);
      if (i === 0) void done.finally(release);
    });
  }

  /** Windows handed to the store and not written yet, for reads (a PendingSource beside the aggregator's). */
  pending(name: string, resolution: Resolution, from: number, until: number): StatPoint[] {
    return this.held.pending(name, resolution, from, until);
  }

  /**
   * Start of the oldest window of `step` some writer has not stored yet (waiting for a retry), or Infinity: the
   * flush watermark must stay at or before it.
   */
  unstoredSince(step: number): number {
    let oldest = Infinity;
    for (const state of this.states)
      for (const batch of [...state.retries, ...(state.retrying ?? [])]) {
        // An unstored amend, at any resolution, holds back the acks of the batches that carried its points.
        const since =
          batch.amend !== undefined ? batch.amend.heldFrom : batch.resolution.step === step ? batch.time : Infinity;
        if (since < oldest) oldest = since;
      }
    return oldest;
  }

  /** Whether some writer holds an amend it has not stored yet (waiting for a retry). */
  holdsUnstoredAmends(): boolean {
    return this.states.some((state) =>
      [...state.retries, ...(state.retrying ?? [])].some((batch) => batch.amend !== undefined),
    );
  }

  /**
   * Resolves once every batch handed over before this call is written, failed or queued for a retry; later
   * batches are not waited for (so a busy sink cannot postpone it forever).
   */
  async barrier(): Promise<void> {
    await Promise.all([...this.inFlight]);
  }

  /** Resolves once every batch handed over so far is written, failed or queued for a retry. */
  async drain(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all(this.inFlight);
  }

  /** Writes what is in flight, gives the retry queues one last pass, then closes the writers. */
  async close(): Promise<void> {
    await this.drain();
    this.closing = true;
    clearInterval(this.retryTimer);
    await Promise.all(this.states.map((state) => this.retryPass(state)));
    for (const state of this.states) {
      if (state.retryPoints > 0) {
        this.retryDropped.labels(state.writer.name, 'closed').inc(state.retryPoints);
        this.logger?.error(
          { writer: state.writer.name, points: state.retryPoints },
          'writer still failing at close: points not stored (their relay batches were not acked)',
        );
      }
    }
    // Together: each catalogue writer may take its close_timeout to deliver its queue.
    await Promise.all(this.states.map((state) => state.writer.close()));
  }

  private writeTo(state: WriterState, batch: FlushBatch): Promise<void> {
    const points = batch.names.length;
    state.inFlightPoints += points;
    const started = performance.now();
    const name = state.writer.name;
    const done = state.writer
      .write(batch)
      .then(
        (outcome: WriteOutcome | void) => {
          this.batchesWritten.labels(name).inc();
          this.writeSeconds.labels(name).observe((performance.now() - started) / 1000);
          if (outcome?.retry && outcome.retry.names.length > 0) this.queueRetry(state, outcome.retry);
        },
        (error: unknown) => {
          this.batchesFailed.labels(name).inc();
          this.logger?.error(
            { err: error, writer: name, points, resolution: batch.resolution.name },
            'writer failed a batch: kept for a retry',
          );
          this.queueRetry(state, batch);
        },
      )
      .finally(() => {
        state.inFlightPoints -= points;
        this.inFlight.delete(done);
      });
    this.inFlight.add(done);
    return done;
  }

  private queueRetry(state: WriterState, batch: FlushBatch): void {
    state.retries.push(batch);
    state.retryPoints += batch.names.length;
    while (state.retryPoints > this.options.maxRetryPoints && state.retries.length > 1) {
      const dropped = state.retries.shift()!;
      state.retryPoints -= dropped.names.length;
      this.retryDropped.labels(state.writer.name, 'queue_full').inc(dropped.names.length);
    }
  }

  private retryAll(): void {
    if (this.closing) return;
    for (const state of this.states)
      if (state.retrying === undefined && state.retries.length > 0) void this.retryPass(state);
  }

  /** Writes every queued batch of one writer again, in order; what fails again is queued again. */
  private async retryPass(state: WriterState): Promise<void> {
    const batches = state.retries;
    if (batches.length === 0) return;
    state.retries = [];
    state.retryPoints = 0;
    state.retrying = batches;
    try {
      for (const batch of batches) {
        this.retriedPoints.labels(state.writer.name).inc(batch.names.length);
        await this.writeTo(state, batch);
      }
    } finally {
      state.retrying = undefined;
    }
  }
}
