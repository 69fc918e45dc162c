/**
 * What the gRPC Ingest server calls for each new relay batch: parse and aggregate it through the node's line
 * ingest (keeping only points this member owns), and record it for durable acks.
 */
import { nowSeconds } from '@carillon/core';
import type { Aggregator } from '@carillon/aggregator';
import type { IngestHandler, ReceivedBatch } from '@carillon/transport';
import type { DurabilityTracker } from './durability.js';
import type { LoggedIngest } from './logged-ingest.js';
import type { RingOwnership } from './ownership.js';

export class BatchHandler implements IngestHandler {
  /** When the last new batch was processed (ms): a leaving member waits for quiet before it exits. */
  lastBatchAtMs = 0;

  constructor(
    private readonly ingest: LoggedIngest,
    private readonly durability: DurabilityTracker,
    private readonly ownership: RingOwnership,
    private readonly aggregator: Aggregator,
  ) {}

  /** Returns what the batch's points were refused for, by reason (sent back to the relay with the next ack). */
  process(batch: ReceivedBatch): ReadonlyMap<string, number> {
    this.lastBatchAtMs = Date.now();
    const outcome = this.ingest.ingestBatch(batch.format, batch.lines, Math.floor(batch.receivedAtMs / 1000), {
      relayId: batch.relayId,
      sequence: batch.sequence,
    });
    this.durability.processed(batch.relayId, batch.sequence, outcome.windowEnd);
    return outcome.refused;
  }

  durableSequence(relayId: string): number {
    return this.durability.durableSequence(relayId);
  }

  onDurable(listener: () => void): void {
    this.durability.onAdvance(listener);
  }

  status(): { memberId: string; ringVersion: number; series: number } {
    return {
      memberId: this.ownership.memberId,
      ringVersion: this.ownership.versionAt(nowSeconds()),
      series: this.aggregator.seriesCount,
    };
  }
}
