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

export function isGraphiteSeparator(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0d;
}

/** Scans the line `buf[start, end)` into `out` and returns it. */
export function scanGraphiteFields(buf: Uint8Array, start: number, end: number, out: GraphiteFields): GraphiteFields {
  let i = start;
  while (i < end && isGraphiteSeparator(buf[i]!)) i++;
  out.keyStart = i;
  while (i < end && !isGraphiteSeparator(buf[i]!)) i++;
  out.keyEnd = i;
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
