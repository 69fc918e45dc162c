/**
 * The one rule for cutting bytes into lines, shared by every input: TCP framing (framing.ts adds only the
 * carry-over of a partial line across reads), UDP datagrams, relay batches and POST /lines. Lines are byte
 * ranges so the relay can route them without decoding; use decodeLine() for a string.
 *
 * - A line ends at `\n` or at the end of the range; one `\r` before that end is dropped.
 * - An empty line (nothing left once the `\r` is dropped) is skipped and not counted. A line of spaces is not
 *   empty: it is delivered and its parser refuses it (malformed_line), as carbon and the reference StatsD do.
 * - A line longer than maxLineLength bytes (not counting its `\r\n`) goes to onReject as line_too_long, once.
 */
import type { RejectReason } from './reasons.js';

/**
 * Receives one line: `buf[start, end)`. The bytes stay unchanged until the event-loop turn that delivered them
 * ends (its microtasks included: the write-ahead log stages a read's lines as one range, logged-ingest.ts); copy
 * what you keep longer.
 */
export type LineHandler = (buf: Buffer, start: number, end: number) => void;
export type RejectHandler = (reason: RejectReason) => void;

export const DEFAULT_MAX_LINE_LENGTH = 64 * 1024;
/** For inputs bounded as a whole rather than per line (relay batches, POST /lines bodies). */
export const NO_LINE_LIMIT = Number.POSITIVE_INFINITY;

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;

/** The UTF-8 text of a delivered line. */
export function decodeLine(buf: Buffer, start: number, end: number): string {
  return buf.toString('utf8', start, end);
}

/**
 * Delivers every line of `buf[start, end)`; the last one needs no `\n`, unless `holdLast`: then an unterminated
 * last line is not delivered (a stream framer carries it into its next read). Returns where that held line
 * starts, or `end`.
 */
export function forEachLine(
  buf: Buffer,
  start: number,
  end: number,
  maxLineLength: number,
  onLine: LineHandler,
  onReject: RejectHandler,
  holdLast = false,
): number {
  let position = start;
  while (position < end) {
    let newline = buf.indexOf(NEWLINE, position);
    if (newline < 0 || newline >= end) {
      if (holdLast) return position;
      newline = end;
    }
    deliverLine(buf, position, newline, maxLineLength, onLine, onReject);
    position = newline + 1;
  }
  return end;
}

/**
 * The line `buf[start, newline)` (`newline`: its `\n`, or the end of the range) by the rules above: one `\r`
 * dropped, skipped when empty, refused when too long, else delivered. For a splitter that finds newlines its own way.
 */
export function deliverLine(
  buf: Buffer,
  start: number,
  newline: number,
  maxLineLength: number,
  onLine: LineHandler,
  onReject: RejectHandler,
): void {
  let lineEnd = newline;
  if (lineEnd > start && buf[lineEnd - 1] === CARRIAGE_RETURN) lineEnd--;
  if (lineEnd === start) return;
  if (lineEnd - start > maxLineLength) onReject('line_too_long');
  else onLine(buf, start, lineEnd);
}

/** Every line of a buffer bounded as a whole (relay batches, POST /lines bodies): no line is too long. */
export function forEachLineUnbounded(buf: Buffer, onLine: LineHandler): void {
  forEachLine(buf, 0, buf.length, NO_LINE_LIMIT, onLine, neverCalled, false);
}

function neverCalled(): void {}
