/**
 * Collects lines of one format into a batch buffer. The caller's bytes are copied, since listeners reuse
 * their buffers. A batch holds lines of one ring version and one arrival quantum, because the whole batch
 * carries a single ring_version and received_at_ms.
 */
import type { LineFormat } from './ingest-proto.js';

export interface ClosedBatch {
  format: LineFormat;
  ringVersion: number;
  receivedAtMs: number;
  lines: Buffer;
  lineCount: number;
}

const NEWLINE = 0x0a;

export class BatchBuilder {
  private readonly buffer: Buffer;
  private length = 0;
  private lineCount = 0;
  private ringVersion = 0;
  private receivedAtMs = 0;
  private quantum = 0;

  constructor(
    readonly format: LineFormat,
    readonly maxBatchBytes: number,
    /** A batch never spans two arrival quanta, so received_at_ms stays in the window of every line in it. */
    private readonly timeQuantumMs: number,
  ) {
    this.buffer = Buffer.allocUnsafe(maxBatchBytes);
  }

  get isEmpty(): boolean {
    return this.lineCount === 0;
  }

  get bytes(): number {
    return this.length;
  }

  /** Whether a line of `lineBytes` (without its newline) would have to go into a fresh batch. */
  needsClose(lineBytes: number, receivedAtMs: number, ringVersion: number): boolean {
    if (this.lineCount === 0) return false;
    return (
      this.length + lineBytes + 1 > this.maxBatchBytes ||
      ringVersion !== this.ringVersion ||
      Math.floor(receivedAtMs / this.timeQuantumMs) !== this.quantum
    );
  }

  /** Copies `source[start, end)` plus a newline. The caller checked needsClose() and the line's size. */
  add(source: Uint8Array, start: number, end: number, receivedAtMs: number, ringVersion: number): void {
    if (this.lineCount === 0) {
      this.ringVersion = ringVersion;
      this.receivedAtMs = receivedAtMs;
      this.quantum = Math.floor(receivedAtMs / this.timeQuantumMs);
    }
    this.buffer.set(source.subarray(start, end), this.length);
    this.length += end - start;
    this.buffer[this.length++] = NEWLINE;
    this.lineCount++;
  }

  /** Takes the collected lines as an exact-size copy and empties the builder. */
  take(): ClosedBatch {
    const lines = Buffer.allocUnsafeSlow(this.length);
    this.buffer.copy(lines, 0, 0, this.length);
    const batch: ClosedBatch = {
      format: this.format,
      ringVersion: this.ringVersion,
      receivedAtMs: this.receivedAtMs,
      lines,
      lineCount: this.lineCount,
    };
    this.length = 0;
    this.lineCount = 0;
    return batch;
  }
}
