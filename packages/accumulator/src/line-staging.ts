const NEWLINE = 0x0a;

/**
 * Where one event-loop turn's lines of a format wait until they are logged and ingested as one record
 * (logged-ingest.ts), or handed by a listener thread to the main thread as one batch (listener-thread.ts).
 * Lines delivered back to back from one buffer (every line of a read, each followed by its newline) are kept as
 * one range of that buffer and copied once, or not at all: a listener's bytes stay unchanged until the turn ends (lines.ts), and the record is written
 * and ingested before it does. A line that does not follow the last one (another buffer, a dropped `\r`, a
 * skipped empty line) copies the range so far into the stage, newline-terminated as every line of a record.
 */
export class LineStaging {
  private buffer = Buffer.allocUnsafe(64 * 1024);
  private length = 0;
  /** The lines not yet copied: `range[rangeStart, rangeEnd)`, the newline after each but the last included. */
  private range: Buffer | undefined;
  private rangeStart = 0;
  private rangeEnd = 0;

  get empty(): boolean {
    return this.length === 0 && this.range === undefined;
  }

  add(buf: Buffer, start: number, end: number): void {
    const range = this.range;
    if (range === buf && start === this.rangeEnd + 1 && buf[this.rangeEnd] === NEWLINE) {
      this.rangeEnd = end;
      return;
    }
    if (range !== undefined) this.copyRange(range);
    this.range = buf;
    this.rangeStart = start;
    this.rangeEnd = end;
  }

  /**
   * The staged lines, each newline-terminated, and an empty stage. The bytes are a view (of the listener's buffer
   * or of the stage) valid until lines are staged again: the caller logs and ingests them at once.
   */
  take(): Buffer {
    const range = this.range;
    let lines: Buffer;
    if (this.length === 0 && range !== undefined && this.rangeEnd < range.length && range[this.rangeEnd] === NEWLINE) {
      lines = range.subarray(this.rangeStart, this.rangeEnd + 1);
    } else {
      if (range !== undefined) this.copyRange(range);
      lines = this.buffer.subarray(0, this.length);
    }
    this.range = undefined;
    this.length = 0;
    return lines;
  }

  private copyRange(range: Buffer): void {
    const needed = this.length + (this.rangeEnd - this.rangeStart) + 1;
    if (needed > this.buffer.length) {
      const grown = Buffer.allocUnsafe(Math.max(needed, this.buffer.length * 2));
      this.buffer.copy(grown, 0, 0, this.length);
      this.buffer = grown;
    }
    this.length += range.copy(this.buffer, this.length, this.rangeStart, this.rangeEnd);
    this.buffer[this.length++] = NEWLINE;
    this.range = undefined;
  }
}
