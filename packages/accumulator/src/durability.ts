/**
 * Which relay batches are durable. A batch is durable once every finest window its accepted points fell in has
 * been flushed and written; the relay keeps each batch until then and replays the rest after a reconnect.
 *
 * Per relay the processed batches form a queue in sequence order. Consecutive batches whose windows end no
 * later than the queue's tail are folded into the tail (they become durable no earlier than it), so the queue
 * holds about one entry per finest window still open, whatever the batch rate.
 */
import type { MetricsRegistry } from '@carillon/core';

interface Pending {
  /** Highest sequence folded into this entry. */
  sequence: number;
  /** End of the latest finest window (epoch seconds) the entry's points fell in. */
  windowEnd: number;
}

interface RelayState {
  durable: number;
  queue: Pending[];
  lastActivityMs: number;
}

export interface DurabilityOptions {
  /** Relays remembered at once; past it the one idle longest with nothing pending is forgotten. */
  maxRelays: number;
}

export class DurabilityTracker {
  private readonly relays = new Map<string, RelayState>();
  /** Every point stamped before this is flushed and written. */
  private watermark: number;
  private readonly forgotten;
  private readonly refusedRelays;
  private readonly advanceListeners: (() => void)[] = [];

  constructor(
    private readonly options: DurabilityOptions,
    initialWatermark: number,
    registry: MetricsRegistry,
    private readonly nowMs: () => number = Date.now,
  ) {
    this.watermark = initialWatermark;
    this.forgotten = registry
      .counter('accumulator_relays_forgotten_total', 'Idle relays with nothing pending dropped past max_relays')
      .labels();
    this.refusedRelays = registry
      .counter(
        'accumulator_relays_untracked_total',
        'Batches from a new relay not tracked because max_relays relays all had pending batches',
      )
      .labels();
    registry.gauge(
      'accumulator_durable_lag_seconds',
      'Age of the oldest window end a relay batch waits on to become durable (0 when none)',
      [],
      (gauge) => gauge.labels().set(this.oldestPendingLagSeconds()),
    );
    registry.gauge('accumulator_relays_tracked', 'Relays whose durable sequence is remembered', [], (gauge) =>
      gauge.labels().set(this.relays.size),
    );
  }

  /**
   * Records a processed batch whose accepted points fell in finest windows ending at most at `windowEnd` (0 when
   * it stored nothing). Returns false when the batch could not be tracked (too many relays with pending work):
   * its points are aggregated but it is never acked durable, so the relay keeps it and replays it later.
   */
  processed(relayId: string, sequence: number, windowEnd: number): boolean {
    let state = this.relays.get(relayId);
    if (state === undefined) {
      if (this.relays.size >= this.options.maxRelays && !this.forgetOneIdle()) {
        this.refusedRelays.value++;
        return false;
      }
      state = { durable: 0, queue: [], lastActivityMs: 0 };
      this.relays.set(relayId, state);
    }
    state.lastActivityMs = this.nowMs();
    const tail = state.queue[state.queue.length - 1];
    if (tail === undefined && windowEnd <= this.watermark) state.durable = Math.max(state.durable, sequence);
    else if (tail !== undefined && windowEnd <= tail.windowEnd) tail.sequence = sequence;
    else state.queue.push({ sequence, windowEnd });
    return true;
  }

  /** Every point before `watermark` is written: batches waiting on nothing later become durable. */
  advance(watermark: number): void {
    if (watermark <= this.watermark) return;
    this.watermark = watermark;
    for (const state of this.relays.values()) {
      const queue = state.queue;
      let done = 0;
      while (done < queue.length && queue[done]!.windowEnd <= watermark) state.durable = queue[done++]!.sequence;
      if (done > 0) queue.splice(0, done);
    }
    for (const listener of this.advanceListeners) listener();
  }

  /** `listener` runs after every advance of the watermark (the ingest server sends fresh acks). */
  onAdvance(listener: () => void): void {
    this.advanceListeners.push(listener);
  }

  /** Highest sequence of `relayId` whose points are all durable; 0 if none. */
  durableSequence(relayId: string): number {
    return this.relays.get(relayId)?.durable ?? 0;
  }

  get currentWatermark(): number {
    return this.watermark;
  }

  /** Batches (folded entries) waiting to become durable, over every relay. */
  get pendingEntries(): number {
    let entries = 0;
    for (const state of this.relays.values()) entries += state.queue.length;
    return entries;
  }

  private oldestPendingLagSeconds(): number {
    let oldest = Infinity;
    for (const state of this.relays.values())
      if (state.queue.length > 0) oldest = Math.min(oldest, state.queue[0]!.windowEnd);
    return oldest === Infinity ? 0 : Math.max(0, this.nowMs() / 1000 - oldest);
  }

  private forgetOneIdle(): boolean {
    let victim: string | undefined;
    let oldest = Infinity;
    for (const [id, state] of this.relays)
      if (state.queue.length === 0 && state.lastActivityMs < oldest) {
        oldest = state.lastActivityMs;
        victim = id;
      }
    if (victim === undefined) return false;
    this.relays.delete(victim);
    this.forgotten.value++;
    return true;
  }
}
