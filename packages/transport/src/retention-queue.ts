/**
 * The batches of one destination that are not yet durable, in sequence order: those already sent and those
 * still waiting to be sent. Bounded in bytes; past the bound the oldest batches are dropped.
 */
import type { WireLineBatch } from './ingest-proto.js';

export class RetentionQueue {
  private items: WireLineBatch[] = [];
  /** Index in `items` of the next batch to send; everything before it is in flight. */
  private sendIndex = 0;
  private totalBytes = 0;
  private unsentBytesCount = 0;

  constructor(readonly maxBytes: number) {}

  get batches(): number {
    return this.items.length;
  }
  get bytes(): number {
    return this.totalBytes;
  }
  /** Sent and not yet durable. */
  get inFlightBatches(): number {
    return this.sendIndex;
  }
  get unsentBatches(): number {
    return this.items.length - this.sendIndex;
  }
  get unsentBytes(): number {
    return this.unsentBytesCount;
  }

  /** Appends a batch and returns the oldest ones dropped to stay within maxBytes. */
  push(batch: WireLineBatch): WireLineBatch[] {
    this.items.push(batch);
    this.totalBytes += batch.lines.length;
    this.unsentBytesCount += batch.lines.length;
    let dropped: WireLineBatch[] | undefined;
    while (this.totalBytes > this.maxBytes && this.items.length > 0) {
      const oldest = this.removeFirst();
      (dropped ??= []).push(oldest);
    }
    return dropped ?? NONE;
  }

  /** The next batch to send, or undefined when everything retained is in flight. */
  peekUnsent(): WireLineBatch | undefined {
    return this.items[this.sendIndex];
  }

  markSent(): void {
    this.unsentBytesCount -= this.items[this.sendIndex]!.lines.length;
    this.sendIndex++;
  }

  /** Drops every batch with sequence <= durable; returns how many. */
  release(durable: number): number {
    let released = 0;
    while (this.items.length > 0 && this.items[0]!.sequence <= durable) {
      this.removeFirst();
      released++;
    }
    return released;
  }

  /** A new stream starts: everything retained is sent again, in order. Returns how many batches that is. */
  rewind(): number {
    const replayed = this.sendIndex;
    this.sendIndex = 0;
    this.unsentBytesCount = this.totalBytes;
    return replayed;
  }

  /** Empties the queue, returning what it held (at shutdown). */
  drain(): WireLineBatch[] {
    const all = this.items;
    this.items = [];
    this.sendIndex = 0;
    this.totalBytes = 0;
    this.unsentBytesCount = 0;
    return all;
  }

  private removeFirst(): WireLineBatch {
    // Batches are few (maxBytes / batch size), so shifting the array is cheap enough.
    const first = this.items.shift()!;
    this.totalBytes -= first.lines.length;
    if (this.sendIndex > 0) this.sendIndex--;
    else this.unsentBytesCount -= first.lines.length;
    return first;
  }
}

const NONE: WireLineBatch[] = [];
