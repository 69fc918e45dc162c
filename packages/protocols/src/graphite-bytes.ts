/**
 * The common Graphite line read straight from its bytes: `path value [timestamp]` with a plain path (printable
 * ASCII but `;` and `/`, no empty node), a value of at most 15 digits without an exponent, a valid timestamp or
 * none, and nothing else. Such a line is nearly all real traffic; reading it without decoding it (the caller
 * finds a known series by the path's bytes, or interns its string) is what keeps a node's ingest cheap per line.
 *
 * It is a shortcut, not a second parser: it takes a line only when parseGraphiteBytes would accept it with this
 * very sample, and answers false for everything else (tags, other numbers, non-ASCII bytes, any refusal), which
 * then goes through parseGraphiteBytes as before.
 */
import { HASH_SEED, hashByte } from './ascii-interner.js';
import { GraphiteFields, isGraphiteSeparator, scanGraphiteFieldsAfterKey } from './graphite-fields.js';
import { readGraphiteTimestamp } from './graphite.js';
import { parsePlainDecimalBytes } from './number.js';

/** 1 for the bytes a plain path node may hold: what isValidPath allows, in ASCII, but the node separator. */
const PLAIN_PATH_BYTE = new Uint8Array(256);
for (let c = 0x21; c < 0x7f; c++) PLAIN_PATH_BYTE[c] = c === 0x3b /* ; */ || c === 0x2f /* / */ || c === 0x2e ? 0 : 1;

const fields = new GraphiteFields();

/** A common line as read: where its path lies (and the path's AsciiInterner hash), its value and its time. */
export class CommonGraphiteLine {
  keyStart = 0;
  keyEnd = 0;
  keyHash = 0;
  value = 0;
  timestamp = 0;
}

/**
 * Reads the line `buf[start, end)` into `out` when it is a common line (above); returns false, `out` in an
 * unspecified state, for any other line. `nowSeconds` stamps a line without a timestamp.
 */
export function parseCommonGraphiteLine(
  buf: Buffer,
  start: number,
  end: number,
  nowSeconds: number,
  out: CommonGraphiteLine,
): boolean {
  // The path is most of a line: its bytes are checked and hashed in the pass that finds where it ends.
  let i = start;
  while (i < end && isGraphiteSeparator(buf[i]!)) i++;
  const keyStart = i;
  let hash = HASH_SEED;
  let nodeLength = 0;
  for (; i < end; i++) {
    const c = buf[i]!;
    if (c === 0x2e /* . */) {
      if (nodeLength === 0) return false;
      nodeLength = 0;
    } else if (PLAIN_PATH_BYTE[c] === 1) nodeLength++;
    else if (isGraphiteSeparator(c)) break;
    else return false;
    hash = hashByte(hash, c);
  }
  // Also refuses a blank line: its path has no node.
  if (nodeLength === 0) return false;
  const keyEnd = i;
  const { valueStart, valueEnd, timestampStart, timestampEnd, extra } = scanGraphiteFieldsAfterKey(
    buf,
    keyEnd,
    end,
    fields,
  );
  if (valueStart === valueEnd || extra) return false;
  const value = parsePlainDecimalBytes(buf, valueStart, valueEnd);
  if (value === undefined) return false;
  let timestamp = nowSeconds;
  if (timestampStart !== timestampEnd) {
    const seconds = readGraphiteTimestamp(buf, timestampStart, timestampEnd);
    if (Number.isNaN(seconds)) return false;
    if (seconds !== -1) timestamp = seconds;
  }
  out.keyStart = keyStart;
  out.keyEnd = keyEnd;
  out.keyHash = hash;
  out.value = value;
  out.timestamp = timestamp;
  return true;
}
