/**
 * The aggregator's FlushSink over the configured writers. Each batch goes to every writer; the points each
 * writer has not finished are counted, and the sink reports itself overloaded while any writer is past the
 * high-water mark, so the aggregator skips the flush and keeps its windows pending instead of piling up
 * promises here. A writer's failure is counted and logged; it never stops the others.
 */
import type { FlushBatch, Logger, MetricsRegistry, Writer } from '@carillon/core';
import type { FlushSink } from '@carillon/aggregator';

/** A writer that may report its own backlog (the write pool's queue against its high-water mark). */
type SinkWriter = Writer & { overloaded?(): boolean };

interface WriterState {
  writer: SinkWriter;
  inFlightPoints: number;
}

export class WriterSink implements FlushSink {
  private readonly states: WriterState[];
  private readonly inFlight = new Set<Promise<void>>();
  private readonly batchesWritten;
  private readonly batchesFailed;
  private readonly writeSeconds;

  constructor(
    writers: readonly SinkWriter[],
    private readonly maxInFlightPoints: number,
    registry: MetricsRegistry,
    private readonly logger?: Logger,
  ) {
    this.states = writers.map((writer) => ({ writer, inFlightPoints: 0 }));
    this.batchesWritten = registry.counter('writer_batches_total', 'Flush batches a writer finished', ['writer']);
    this.batchesFailed = registry.counter('writer_batch_errors_total', 'Flush batches a writer failed', ['writer']);
    this.writeSeconds = registry.histogram(
      'writer_batch_seconds',
      'Time a writer took for one flush batch',
      [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
      ['writer'],
    );
    registry.gauge('writer_in_flight_points', 'Points handed to a writer and not yet written', ['writer'], (gauge) => {
      for (const state of this.states) gauge.labels(state.writer.name).set(state.inFlightPoints);
    });
  }

  /** Past max in-flight points, or a writer (a write pool) reporting its own queue above its high-water mark. */
  overloaded(): boolean {
    return this.states.some(
      (state) => state.inFlightPoints > this.maxInFlightPoints || (state.writer.overloaded?.() ?? false),
    );
  }

  write(batch: FlushBatch): void {
    const points = batch.names.length;
    for (const state of this.states) {
      state.inFlightPoints += points;
      const started = performance.now();
      const name = state.writer.name;
      const done = state.writer
        .write(batch)
        .then(
          () => {
            this.batchesWritten.labels(name).inc();
            this.writeSeconds.labels(name).observe((performance.now() - started) / 1000);
          },
          (error: unknown) => {
            this.batchesFailed.labels(name).inc();
            this.logger?.error(
              { err: error, writer: name, points, resolution: batch.resolution.name },
              'writer failed a batch',
            );
          },
        )
        .finally(() => {
          state.inFlightPoints -= points;
          this.inFlight.delete(done);
        });
      this.inFlight.add(done);
    }
  }

  /**
   * Resolves once every batch handed over before this call is written or failed; later batches are not waited
   * for (so a busy sink cannot postpone it forever).
   */
  async barrier(): Promise<void> {
    await Promise.all([...this.inFlight]);
  }

  /** Resolves once every batch handed over so far is written or failed. */
  async drain(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all(this.inFlight);
  }

  async close(): Promise<void> {
    await this.drain();
    for (const state of this.states) await state.writer.close();
  }
}
