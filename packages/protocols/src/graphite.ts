/**
 * Graphite plaintext: `name value [timestamp]`, fields separated by runs of spaces or tabs (a stray `\r` counts
 * as a separator too). Pure functions; framing and sockets live elsewhere.
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
import { parseDecimal } from './number.js';
import type { RejectReason } from './reasons.js';

/** The largest accepted timestamp: the end of unsigned 32-bit epoch seconds (year 2106). */
export const MAX_GRAPHITE_TIMESTAMP = 0xffffffff;

function isSeparator(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0d;
}

/** Parses one line (without its newline) into a sample with a canonical name, or the reason it is refused. */
export function parseGraphiteLine(line: string, nowSeconds: number): GraphiteSample | RejectReason {
  const end = line.length;
  let i = 0;
  while (i < end && isSeparator(line.charCodeAt(i))) i++;
  const nameStart = i;
  let tagged = false;
  for (; i < end; i++) {
    const c = line.charCodeAt(i);
    if (isSeparator(c)) break;
    if (c === 0x3b /* ; */) tagged = true;
  }
  const nameEnd = i;
  if (nameStart === nameEnd) return 'malformed_line';

  while (i < end && isSeparator(line.charCodeAt(i))) i++;
  const valueStart = i;
  while (i < end && !isSeparator(line.charCodeAt(i))) i++;
  const valueEnd = i;
  if (valueStart === valueEnd) return 'malformed_line';

  while (i < end && isSeparator(line.charCodeAt(i))) i++;
  const timestampStart = i;
  while (i < end && !isSeparator(line.charCodeAt(i))) i++;
  const timestampEnd = i;
  while (i < end && isSeparator(line.charCodeAt(i))) i++;
  if (i !== end) return 'malformed_line';

  const rawName = nameStart === 0 && nameEnd === end ? line : line.slice(nameStart, nameEnd);
  let name: string;
  if (tagged) {
    const key = parseMetricName(rawName);
    if (typeof key === 'string') return key;
    name = key.canonical;
  } else {
    if (!isValidPath(rawName)) return 'invalid_path';
    name = rawName;
  }

  const value = parseDecimal(line, valueStart, valueEnd);
  if (value === undefined) return 'invalid_value';
  if (value !== value) return 'nan_value';
  if (value === Infinity || value === -Infinity) return 'invalid_value';

  let timestamp = nowSeconds;
  if (timestampStart !== timestampEnd) {
    const parsed = parseDecimal(line, timestampStart, timestampEnd);
    if (parsed === undefined || !(parsed >= -1 && parsed <= MAX_GRAPHITE_TIMESTAMP)) return 'invalid_timestamp';
    if (parsed !== -1) {
      if (parsed < 0) return 'invalid_timestamp';
      timestamp = Math.floor(parsed);
    }
  }
  return { name, value, timestamp };
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
 * are left to parseGraphiteLine where the line is consumed.
 */
export function locateGraphiteKey(
  buf: Uint8Array,
  start: number,
  end: number,
  out: KeyLocation = new KeyLocation(),
): KeyLocation | RejectReason {
  let i = start;
  while (i < end && isSeparator(buf[i]!)) i++;
  const keyStart = i;
  let tagged = false;
  let badPath = false;
  let nodeLength = 0;
  for (; i < end; i++) {
    const c = buf[i]!;
    if (isSeparator(c)) break;
    if (tagged) continue;
    if (c === 0x2e /* . */) {
      if (nodeLength === 0) badPath = true;
      nodeLength = 0;
    } else if (c === 0x3b /* ; */) {
      if (nodeLength === 0) badPath = true;
      tagged = true;
    } else {
      // Bytes >= 0x80 are parts of UTF-8 sequences, all of which are allowed in a path.
      if (c < 0x20 || c === 0x7f || c === 0x2f /* / */) badPath = true;
      nodeLength++;
    }
  }
  const keyEnd = i;
  if (keyStart === keyEnd) return 'malformed_line';
  if (!tagged && nodeLength === 0) badPath = true;

  while (i < end && isSeparator(buf[i]!)) i++;
  if (i === end) return 'malformed_line';
  let fields = 1;
  while (i < end) {
    fields++;
    while (i < end && !isSeparator(buf[i]!)) i++;
    while (i < end && isSeparator(buf[i]!)) i++;
  }
  if (fields > 3) return 'malformed_line';
  if (badPath) return 'invalid_path';

  out.keyStart = keyStart;
  out.keyEnd = keyEnd;
  out.canonical = !tagged;
  return out;
}
