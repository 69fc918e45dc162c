/**
 * Where the fields of one Graphite plaintext line lie: `key value [timestamp]`, separated by runs of spaces or
 * tabs (a stray `\r` counts as a separator too). Boundaries only; what the fields mean is graphite.ts's job. Pure
 * and allocation-free over bytes so the relay scans lines in place and the parser scans the same way.
 */

/** Field boundaries as byte offsets into the scanned buffer. Reuse one instance across lines. */
export class GraphiteFields {
  /** keyStart === keyEnd: the line is blank. */
  keyStart = 0;
  keyEnd = 0;
  /** valueStart === valueEnd: no value. */
  valueStart = 0;
  valueEnd = 0;
  /** timestampStart === timestampEnd: no timestamp (the point is stamped on arrival). */
  timestampStart = 0;
  timestampEnd = 0;
  /** Something follows the timestamp: more than three fields. */
  extra = false;
}

/** 1 for the separator bytes: a table lookup is cheaper than three comparisons per byte. */
const SEPARATOR = new Uint8Array(256);
SEPARATOR[0x20] = SEPARATOR[0x09] = SEPARATOR[0x0d] = 1;

export function isGraphiteSeparator(c: number): boolean {
  return SEPARATOR[c] === 1;
}

/** Scans the line `buf[start, end)` into `out` and returns it. */
export function scanGraphiteFields(buf: Uint8Array, start: number, end: number, out: GraphiteFields): GraphiteFields {
  let i = start;
  while (i < end && isGraphiteSeparator(buf[i]!)) i++;
  out.keyStart = i;
  while (i < end && !isGraphiteSeparator(buf[i]!)) i++;
  out.keyEnd = i;
  return scanGraphiteFieldsAfterKey(buf, i, end, out);
}

/**
 * Scans the value, the timestamp and what follows them into `out`, from `keyEnd`, where the key ends, to `end`;
 * for a caller that found the key in a pass of its own. Leaves `out.keyStart` and `out.keyEnd` as they are.
 */
export function scanGraphiteFieldsAfterKey(
  buf: Uint8Array,
  keyEnd: number,
  end: number,
  out: GraphiteFields,
): GraphiteFields {
  let i = keyEnd;
  while (i < end && isGraphiteSeparator(buf[i]!)) i++;
  out.valueStart = i;
  while (i < end && !isGraphiteSeparator(buf[i]!)) i++;
  out.valueEnd = i;
  while (i < end && isGraphiteSeparator(buf[i]!)) i++;
  out.timestampStart = i;
  while (i < end && !isGraphiteSeparator(buf[i]!)) i++;
  out.timestampEnd = i;
  while (i < end && isGraphiteSeparator(buf[i]!)) i++;
  out.extra = i < end;
  return out;
}
