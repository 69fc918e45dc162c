/** Real sinks and handlers that keep what they are given, for tests to assert on. */
import { batchPoint, mergeStatPoint, type FlushBatch, type StatPoint } from '@carillon/core';
import type { FlushSink } from '@carillon/aggregator';
import type { IngestHandler, ReceivedBatch } from '@carillon/transport';

/** An aggregator sink that records every flushed batch and can be told to report overload. */
export class RecordingSink implements FlushSink {
  readonly batches: FlushBatch[] = [];
  isOverloaded = false;
  overloaded(): boolean {
    return this.isOverloaded;
  }
  write(batch: FlushBatch): void {
    this.batches.push(batch);
  }
  /** `step@time` of every batch in write order. */
  order(): string[] {
    return this.batches.map((b) => `${b.resolution.step}@${b.time}`);
  }
  /** The StatPoint written (not amended) for `name` at that window, without its first/last timestamps. */
  point(step: number, time: number, name: string): StatPoint | undefined {
    const point = this.timedPoint(step, time, name);
    if (point === undefined) return undefined;
    delete point.firstTime;
    delete point.lastTime;
    return point;
  }
  /** The StatPoint written (not amended) for `name` at that window, with its first/last timestamps. */
  timedPoint(step: number, time: number, name: string): StatPoint | undefined {
    for (const batch of this.batches) {
      if (batch.amend !== undefined || batch.resolution.step !== step || batch.time !== time) continue;
      const i = batch.names.indexOf(name);
      if (i >= 0) return batchPoint(batch, i);
    }
    return undefined;
  }
  /** What is stored for `name` at that window once every amend is merged in (core mergeStatPoint, write order). */
  merged(step: number, time: number, name: string): StatPoint | undefined {
    let stored: StatPoint | undefined;
    for (const batch of this.batches) {
      if (batch.resolution.step !== step || batch.time !== time) continue;
      const i = batch.names.indexOf(name);
      if (i < 0) continue;
      const point = batchPoint(batch, i);
      if (batch.amend === undefined || stored === undefined) stored = point;
      else mergeStatPoint(stored, point);
    }
    return stored;
  }
}

/** An accumulator's ingest handler that keeps a copy of every batch it is given. */
export class RecordingHandler implements IngestHandler {
  readonly batches: ReceivedBatch[] = [];
  readonly durable = new Map<string, number>();
  /**
   * `durableOnProcess`: everything processed counts as flushed at once (a relay's shutdown then finishes without
   * waiting). Otherwise durability moves only when the test calls `makeAllDurable`, as a flush would.
   */
  constructor(
    readonly memberId = 'acc-1',
    private readonly options: { durableOnProcess?: boolean } = {},
  ) {}
  process(batch: ReceivedBatch): void {
    // The server reuses its buffers: keep a copy.
    this.batches.push({ ...batch, lines: Buffer.from(batch.lines) });
    if (this.options.durableOnProcess === true) this.makeAllDurable();
  }
  durableSequence(relayId: string): number {
    return this.durable.get(relayId) ?? 0;
  }
  /** Marks everything processed so far durable. */
  makeAllDurable(): void {
    for (const batch of this.batches)
      if (batch.sequence > (this.durable.get(batch.relayId) ?? 0)) this.durable.set(batch.relayId, batch.sequence);
  }
  lines(): string[] {
    return this.batches.flatMap((b) => b.lines.toString().split('\n').slice(0, -1));
  }
  status(): { memberId: string; ringVersion: number; series: number } {
    return { memberId: this.memberId, ringVersion: 1, series: this.batches.length };
  }
}
