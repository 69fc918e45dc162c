/**
 * Line framing for byte streams (TCP) and datagrams (UDP) over the one line rule of lines.ts. The stream framer
 * adds only what a stream needs: the unfinished last line of a read is carried into the next read.
 *
 * - Only the unfinished tail of a read is kept between reads, and never more than maxLineLength + 1 bytes of
 *   it: a longer line is rejected as line_too_long as soon as that is certain, then skipped up to its newline.
 * - A carried line, once delivered, is never overwritten: its bytes stay valid until the turn ends (lines.ts).
 * - The final line of a stream is delivered by end() even without a newline.
 */
import { deliverLine, forEachLine, type LineHandler, type RejectHandler } from './lines.js';

// Still importable from here, where they lived before lines.ts.
export { DEFAULT_MAX_LINE_LENGTH, type LineHandler, type RejectHandler } from './lines.js';

const NEWLINE = 0x0a;
const INITIAL_CARRY = 256;

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
      const newline = chunk.indexOf(NEWLINE, 0);
      if (newline < 0) {
        if (!this.skipping) this.appendCarry(chunk, 0, length);
        return;
      }
      if (!this.skipping) {
        this.appendCarry(chunk, 0, newline);
        if (!this.skipping) this.emitCarry();
      }
      // The newline ends the carried line, whether it was delivered or rejected as too long.
      this.skipping = false;
      this.carryLength = 0;
      position = newline + 1;
    }
    // Every line ended in this read goes through the shared splitter; only the unterminated tail waits.
    // (Not Buffer#lastIndexOf to find that tail: it skews V8's feedback for the indexOf in the line loop.)
    const tail = forEachLine(chunk, position, length, this.maxLineLength, this.onLine, this.onReject, true);
    if (tail < length) this.appendCarry(chunk, tail, length);
  }

  /** The stream ended: delivers an unterminated last line. */
  end(): void {
    if (!this.skipping && this.carryLength > 0) this.emitCarry();
    this.carryLength = 0;
    this.skipping = false;
    this.carry = undefined;
  }

  private emitCarry(): void {
    // A view bounds the newline search to the carried bytes (the carry holds no newline: it is one line).
    const line = this.carry!.subarray(0, this.carryLength);
    // The delivered line's bytes must outlive this turn (lines.ts): the next partial line goes to a new carry.
    this.carry = undefined;
    forEachLine(line, 0, line.length, this.maxLineLength, this.onLine, this.onReject, false);
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

/**
 * Splits one datagram into its lines, each checked against maxLineLength like a stream's: forEachLine's rules,
 * with the newline found by a loop over the bytes. A datagram's lines are short, and a native indexOf per line
 * costs more than reading the few bytes.
 */
export function splitDatagram(
  datagram: Buffer,
  maxLineLength: number,
  onLine: LineHandler,
  onReject: RejectHandler,
): void {
  const end = datagram.length;
  let position = 0;
  while (position < end) {
    let newline = position;
    while (newline < end && datagram[newline] !== NEWLINE) newline++;
    deliverLine(datagram, position, newline, maxLineLength, onLine, onReject);
    position = newline + 1;
  }
}
