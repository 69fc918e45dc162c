/**
 * Newline framing for byte streams (TCP) and datagrams (UDP). Lines are delivered as byte ranges so the relay
 * can route them without decoding; use decodeLine() for a string.
 *
 * - A line ends at `\n`; one `\r` before it is dropped. Empty lines are skipped without being counted.
 * - A line longer than maxLineLength bytes (not counting `\r\n`) is rejected as line_too_long once and
 *   skipped up to the next newline. Only the unfinished tail of a read is kept between reads, and never more
 *   than maxLineLength + 1 bytes of it.
 * - The final line of a stream is delivered by end() even without a newline.
 */
import type { RejectReason } from './reasons.js';

/**
 * Receives one line: `buf[start, end)`. The bytes are only valid during the call; copy what you keep.
 */
export type LineHandler = (buf: Buffer, start: number, end: number) => void;
export type RejectHandler = (reason: RejectReason) => void;

export const DEFAULT_MAX_LINE_LENGTH = 64 * 1024;
const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;
const INITIAL_CARRY = 256;

/** The UTF-8 text of a delivered line. */
export function decodeLine(buf: Buffer, start: number, end: number): string {
  return buf.toString('utf8', start, end);
}

export class LineSplitter {
  /** Bytes of the line begun in an earlier read and not yet ended. */
  private carry: Buffer | undefined;
  private carryLength = 0;
  /** Inside an over-long line already rejected: drop bytes until the next newline. */
  private skipping = false;

  constructor(
    readonly maxLineLength: number,
    private readonly onLine: LineHandler,
    private readonly onReject: RejectHandler,
  ) {
    if (!Number.isInteger(maxLineLength) || maxLineLength < 1)
      throw new RangeError(`maxLineLength must be a positive integer, got ${maxLineLength}`);
  }

  /** Bytes held for an unfinished line; never more than maxLineLength + 1. */
  get pendingBytes(): number {
    return this.carryLength;
  }

  /** Feeds the next bytes of the stream. */
  push(chunk: Buffer): void {
    const length = chunk.length;
    let position = 0;
    if (this.skipping || this.carryLength > 0) {
      const newline = chunk.indexOf(NEWLINE);
      if (newline < 0) {
        if (!this.skipping) this.appendCarry(chunk, 0, length);
        return;
      }
      if (!this.skipping) {
        this.appendCarry(chunk, 0, newline);
        if (!this.skipping) this.deliver(this.carry!, 0, this.carryLength);
      }
      // The newline ends the carried line, whether it was delivered or rejected as too long.
      this.skipping = false;
      this.carryLength = 0;
      position = newline + 1;
    }
    while (position < length) {
      const newline = chunk.indexOf(NEWLINE, position);
      if (newline < 0) {
        this.appendCarry(chunk, position, length);
        return;
      }
      this.deliver(chunk, position, newline);
      position = newline + 1;
    }
  }

  /** The stream ended: delivers an unterminated last line. */
  end(): void {
    if (!this.skipping && this.carryLength > 0) this.deliver(this.carry!, 0, this.carryLength);
    this.carryLength = 0;
    this.skipping = false;
    this.carry = undefined;
  }

  private deliver(buf: Buffer, start: number, end: number): void {
    if (end > start && buf[end - 1] === CARRIAGE_RETURN) end--;
    if (end === start) return;
    if (end - start > this.maxLineLength) this.onReject('line_too_long');
    else this.onLine(buf, start, end);
  }

  /** Keeps `chunk[start, end)` for the next read, or starts skipping when the line is already too long. */
  private appendCarry(chunk: Buffer, start: number, end: number): void {
    const needed = this.carryLength + (end - start);
    // One byte over the limit may still be the `\r` of a `\r\n`.
    if (needed > this.maxLineLength + 1) {
      this.onReject('line_too_long');
      this.skipping = true;
      this.carryLength = 0;
      return;
    }
    if (!this.carry || this.carry.length < needed) {
      const size = Math.min(Math.max(INITIAL_CARRY, needed, (this.carry?.length ?? 0) * 2), this.maxLineLength + 1);
      const grown = Buffer.allocUnsafe(size);
      if (this.carry) this.carry.copy(grown, 0, 0, this.carryLength);
      this.carry = grown;
    }
    chunk.copy(this.carry, this.carryLength, start, end);
    this.carryLength = needed;
  }
}

/** Splits one datagram into its lines, each checked against maxLineLength like a stream's. */
export function splitDatagram(
  datagram: Buffer,
  maxLineLength: number,
  onLine: LineHandler,
  onReject: RejectHandler,
): void {
  let position = 0;
  const length = datagram.length;
  while (position < length) {
    let newline = datagram.indexOf(NEWLINE, position);
    if (newline < 0) newline = length;
    let end = newline;
    if (end > position && datagram[end - 1] === CARRIAGE_RETURN) end--;
    if (end > position) {
      if (end - position > maxLineLength) onReject('line_too_long');
      else onLine(datagram, position, end);
    }
    position = newline + 1;
  }
}
