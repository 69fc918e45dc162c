/**
 * Graphite plaintext: `name value [timestamp]`, fields separated by runs of spaces or tabs (a stray `\r` counts
 * as a separator too). Pure functions; framing and sockets live elsewhere, and the field boundaries come from
 * graphite-fields.ts, the scanner the relay uses too.
 *
 * Decisions:
 * - name: `path` or `path;k=v;...`, made canonical by core's parseMetricName (tags sorted, last duplicate wins).
 * - value: Python float() syntax like carbon. `nan` → nan_value; ±inf and overflow → invalid_value.
 * - timestamp: a number of epoch seconds, fractions floored; `-1` means now; missing means now (unlike carbon,
 *   which refuses two-field lines; `echo "a.b 1" | nc` is common and unambiguous). Negative (other than -1)
 *   or beyond 2^32-1 (usually milliseconds sent by mistake) → invalid_timestamp.
 * - more than three fields → malformed_line.
 */
import { isValidPath, parseMetricName, type GraphiteSample } from '@carillon/core';
import {
  GraphiteFields,
  isGraphiteSeparator,
  scanGraphiteFields,
  scanGraphiteFieldsAfterKey,
} from './graphite-fields.js';
import { parseDecimal } from './number.js';
import type { RejectReason } from './reasons.js';

/** The largest accepted timestamp: the end of unsigned 32-bit epoch seconds (year 2106). */
export const MAX_GRAPHITE_TIMESTAMP = 0xffffffff;

/** Scratch for the functions here that are not given their own (JavaScript runs one line at a time). */
const scratchFields = new GraphiteFields();
/** parseGraphiteLine's UTF-8 copy of its string, grown to the longest line seen. */
let scratchBytes = Buffer.allocUnsafe(1024);

/** Parses one line (without its newline) into a sample with a canonical name, or the reason it is refused. */
export function parseGraphiteLine(line: string, nowSeconds: number): GraphiteSample | RejectReason {
  // The fields are scanned as bytes, like the relay does; UTF-8 needs at most 3 bytes per UTF-16 unit.
  if (scratchBytes.length < line.length * 3) scratchBytes = Buffer.allocUnsafe(line.length * 3);
  const length = scratchBytes.write(line, 0, 'utf8');
  return parseFields(scratchBytes, 0, length, length === line.length ? line : undefined, nowSeconds);
}

/** Parses the line `buf[start, end)` (without its newline), like parseGraphiteLine. */
export function parseGraphiteBytes(
  buf: Buffer,
  start: number,
  end: number,
  nowSeconds: number,
): GraphiteSample | RejectReason {
  const text = buf.toString('utf8', start, end);
  return parseFields(buf, start, end, text.length === end - start ? text : undefined, nowSeconds);
}

/**
 * `text`, when given, is the line's text with one UTF-16 unit per byte of `buf[start, end)` (ASCII, or invalid
 * bytes each decoded to U+FFFD), so fields are sliced from it by byte offsets; otherwise they are decoded.
 */
function parseFields(
  buf: Buffer,
  start: number,
  end: number,
  text: string | undefined,
  nowSeconds: number,
): GraphiteSample | RejectReason {
  const fields = scanGraphiteFields(buf, start, end, scratchFields);
  if (!hasGraphiteShape(fields)) return 'malformed_line';
  const { keyStart, keyEnd, valueStart, valueEnd, timestampStart, timestampEnd } = fields;

  const rawName =
    text === undefined ? buf.toString('utf8', keyStart, keyEnd) : text.slice(keyStart - start, keyEnd - start);
  let name: string;
  if (rawName.includes(';')) {
    const key = parseMetricName(rawName);
    if (typeof key === 'string') return key;
    name = key.canonical;
  } else {
    if (!isValidPath(rawName)) return 'invalid_path';
    name = rawName;
  }

  // A value is ASCII when valid: other bytes read as Latin-1 are refused all the same.
  const value =
    text === undefined
      ? parseDecimal(buf.toString('latin1', valueStart, valueEnd), 0, valueEnd - valueStart)
      : parseDecimal(text, valueStart - start, valueEnd - start);
  if (value === undefined) return 'invalid_value';
  if (value !== value) return 'nan_value';
  if (value === Infinity || value === -Infinity) return 'invalid_value';

  let timestamp = nowSeconds;
  if (timestampStart !== timestampEnd) {
    const seconds = readGraphiteTimestamp(buf, timestampStart, timestampEnd);
    if (Number.isNaN(seconds)) return 'invalid_timestamp';
    if (seconds !== -1) timestamp = seconds;
  }
  return { name, value, timestamp };
}

/** A key, a value, and at most a timestamp after them. */
function hasGraphiteShape(fields: GraphiteFields): boolean {
  return fields.keyStart !== fields.keyEnd && fields.valueStart !== fields.valueEnd && !fields.extra;
}

/**
 * Epoch seconds of the timestamp field `buf[start, end)`, fractions floored; -1 for "now"; NaN when invalid
 * (not a number, negative other than -1, beyond MAX_GRAPHITE_TIMESTAMP). Plain digits are read from bytes.
 */
export function readGraphiteTimestamp(buf: Buffer, start: number, end: number): number {
  let value = 0;
  for (let i = start; i < end; i++) {
    const digit = buf[i]! - 0x30;
    if (digit < 0 || digit > 9) return timestampOf(parseDecimal(buf.toString('latin1', start, end), 0, end - start));
    value = value * 10 + digit;
  }
  return value <= MAX_GRAPHITE_TIMESTAMP ? value : NaN;
}

/** Fractions, exponents, -1: rare, so read by the parser's own number rules. */
function timestampOf(parsed: number | undefined): number {
  if (parsed === undefined || !(parsed >= -1 && parsed <= MAX_GRAPHITE_TIMESTAMP)) return NaN;
  if (parsed === -1) return -1;
  return parsed < 0 ? NaN : Math.floor(parsed);
}

/**
 * Where a line's metric key lies, found from bytes without decoding. `canonical` is true when the key bytes
 * are already the canonical name (an untagged path), so they can be hashed in place; a tagged key must be
 * decoded and passed through parseMetricName first. Reuse one instance across lines to avoid allocation.
 */
export class KeyLocation {
  keyStart = 0;
  keyEnd = 0;
  canonical = false;
}

/**
 * Finds the key of the Graphite line `buf[start, end)` and checks what is cheap to check on bytes: the line has
 * a value and at most three fields, and an untagged path follows Graphite's rules. Tags, value and timestamp
 * are left to parseGraphiteLine where the line is consumed; `fields` receives every field's bounds (the relay
 * reads the timestamp from there).
 */
export function locateGraphiteKey(
  buf: Uint8Array,
  start: number,
  end: number,
  out: KeyLocation = new KeyLocation(),
  fields: GraphiteFields = scratchFields,
): KeyLocation | RejectReason {
  // The key is most of a line: its path is checked in the pass that finds where it ends.
  let i = start;
  while (i < end && isGraphiteSeparator(buf[i]!)) i++;
  const keyStart = i;
  let tagged = false;
  let badPath = false;
  let nodeLength = 0;
  for (; i < end; i++) {
    const c = buf[i]!;
    if (isGraphiteSeparator(c)) break;
    if (c === 0x2e /* . */) {
      if (nodeLength === 0) badPath = true;
      nodeLength = 0;
    } else if (c === 0x3b /* ; */) {
      if (nodeLength === 0) badPath = true;
      tagged = true;
      // The tags are left to parseMetricName: only their end is wanted here.
      while (i < end && !isGraphiteSeparator(buf[i]!)) i++;
      break;
    } else {
      // Bytes >= 0x80 are parts of UTF-8 sequences, all of which are allowed in a path.
      if (c < 0x20 || c === 0x7f || c === 0x2f /* / */) badPath = true;
      nodeLength++;
    }
  }
  const keyEnd = i;
  fields.keyStart = keyStart;
  fields.keyEnd = keyEnd;
  scanGraphiteFieldsAfterKey(buf, keyEnd, end, fields);
  if (!hasGraphiteShape(fields)) return 'malformed_line';
  if (!tagged && nodeLength === 0) badPath = true;
  if (badPath) return 'invalid_path';

  out.keyStart = keyStart;
  out.keyEnd = keyEnd;
  out.canonical = !tagged;
  return out;
}
