/**
 * The whisper store's write-back queue. Batches handed to the store wait here until a round takes them; when the
 * disk falls behind, several are waiting when the next round starts and it takes them all, so each series' file
 * is updated once for the points of every batch (as carbon-cache and go-carbon write several cached points per
 * update). Bounded in points: a batch past the limit is refused, counted, and handed back for the sink's retry.
 */
import type { FlushBatch, WriteOutcome } from '@carillon/core';

/** A batch the store accepted and has not settled yet. */
export interface QueuedBatch {
  batch: FlushBatch;
  /** Epoch seconds when it was accepted: which archives still hold its window. */
  now: number;
  /** Rows that failed in a way that may pass: handed back in `retry`. */
  failed: number[];
  settle(outcome: WriteOutcome): void;
}

export class WriteQueue {
  private waiting: QueuedBatch[] = [];
  private waitingPoints = 0;

  /** `maxPoints`: points waiting at most; `coalesce`: whether a round takes every waiting batch or one. */
  constructor(
    private readonly maxPoints: number,
    private readonly coalesce: boolean,
  ) {}

  /** Queues `queued`, or refuses it (false) when its points would pass the limit. One batch always fits. */
  offer(queued: QueuedBatch): boolean {
    const points = queued.batch.names.length;
    if (this.waiting.length > 0 && this.waitingPoints + points > this.maxPoints) return false;
    this.waiting.push(queued);
    this.waitingPoints += points;
    return true;
  }

  /** The batches of the next round, oldest first: all that wait (coalescing) or the oldest alone. */
  take(): QueuedBatch[] {
    const round = this.coalesce ? this.waiting : this.waiting.slice(0, 1);
    this.waiting = this.coalesce ? [] : this.waiting.slice(1);
    for (const queued of round) this.waitingPoints -= queued.batch.names.length;
    return round;
  }

  /** Points waiting for a round. */
  get points(): number {
    return this.waitingPoints;
  }
}

/** One row of a round: batch `queued`, series row `row`. */
export interface RoundRow {
  queued: QueuedBatch;
  row: number;
}

/** The rows of a round by series name, each series' rows in arrival order (so the later batch wins a slot). */
export function rowsBySeries(round: readonly QueuedBatch[]): Map<string, RoundRow[]> {
  const bySeries = new Map<string, RoundRow[]>();
  for (const queued of round)
    queued.batch.names.forEach((name, row) => {
      const rows = bySeries.get(name);
      if (rows) rows.push({ queued, row });
      else bySeries.set(name, [{ queued, row }]);
    });
  return bySeries;
}
