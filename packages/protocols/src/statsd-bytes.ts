/**
 * The common StatsD line read straight from its bytes: `key:value|type` or `key:value|type|@rate`, one value, a
 * plain key (only `[a-zA-Z0-9_\-.]`, a valid path) and nothing else. Such a line is most of any real traffic;
 * reading it without decoding it, with the key and set member strings interned, is what keeps StatsD ingest
 * cheap per line.
 *
 * It is a shortcut, not a second parser: it takes a line only when parseStatsdLine would accept it with this
 * very sample, and answers false for everything else (tags, packed values, odd numbers, any refusal), which then
 * goes through decodeLine and parseStatsdLine as before.
 */
import { reusableStatsdBytesSample, type StatsdBytesSample, type StatsdSample, type StatsdType } from '@carillon/core';
import { HASH_SEED, hashByte, type AsciiInterner } from './ascii-interner.js';
import { parsePlainDecimalBytes } from './number.js';
import { PLAIN_KEY_BYTE } from './statsd.js';

const COLON = 0x3a;
const PIPE = 0x7c;
const AT = 0x40;
const NEWLINE = 0x0a;

/** The type field `buf[start, end)`, or undefined. */
function typeAt(buf: Uint8Array, start: number, end: number): StatsdType | undefined {
  const c = buf[start];
  if (end - start === 1) {
    if (c === 0x63) return 'c';
    if (c === 0x67) return 'g';
    if (c === 0x73) return 's';
    if (c === 0x68) return 'h';
    if (c === 0x64) return 'd';
  } else if (end - start === 2 && c === 0x6d /* m */ && buf[start + 1] === 0x73 /* s */) return 'ms';
  return undefined;
}

/**
 * Reads the line that starts at `start` and ends at the first `\n` or at `end` into `out` when it is a common
 * line (above) whose key is at most `maxKeyLength` bytes, and returns where it ends (that `\n`, or `end`);
 * returns -1, `out` in an unspecified state, for any other line. Nothing is decoded: the key and a set's member
 * are left as byte ranges of `buf` (`out.bytes`). So a datagram's lines are read without being split first; a
 * line ending in `\r` is never common (its type or number would hold the `\r`).
 */
export function readCommonStatsdLine(
  buf: Uint8Array,
  start: number,
  end: number,
  maxKeyLength: number,
  out: StatsdBytesSample,
): number {
  // The key: plain bytes, no empty node (nor a last one: `a.:1|c`), up to the first `:`.
  let i = start;
  let nodeLength = 0;
  let keyHash = HASH_SEED;
  for (; i < end; i++) {
    const c = buf[i]!;
    const kind = PLAIN_KEY_BYTE[c];
    if (kind === 1) nodeLength++;
    else if (kind === 2 && nodeLength > 0) nodeLength = 0;
    else break;
    keyHash = hashByte(keyHash, c);
  }
  const keyEnd = i;
  if (keyEnd === end || buf[keyEnd] !== COLON || nodeLength === 0 || keyEnd - start > maxKeyLength) return -1;
  // One value, up to the first `|` (a `:` would be packed values).
  const valueStart = keyEnd + 1;
  for (i = valueStart; i < end; i++) {
    const c = buf[i]!;
    if (c === PIPE) break;
    if (c === COLON || c >= 0x80 || c === NEWLINE) return -1;
  }
  const pipe = i;
  if (pipe === end) return -1;
  for (i = pipe + 1; i < end; i++) {
    const c = buf[i];
    if (c === PIPE || c === NEWLINE) break;
  }
  const type = typeAt(buf, pipe + 1, i);
  if (type === undefined) return -1;
  let sampleRate = 1;
  let lineEnd = i;
  if (i < end && buf[i] === PIPE) {
    // Only `|@rate` may follow, to the end of the line.
    if (buf[i + 1] !== AT) return -1;
    for (lineEnd = i + 2; lineEnd < end && buf[lineEnd] !== NEWLINE; lineEnd++);
    const rate = parsePlainDecimalBytes(buf, i + 2, lineEnd);
    if (rate === undefined || !(rate > 0 && rate <= 1) || !Number.isFinite(1 / rate)) return -1;
    sampleRate = rate;
  }
  if (type === 's') {
    out.value = NaN;
    out.memberStart = valueStart;
    out.memberEnd = pipe;
    out.gaugeDelta = false;
  } else {
    const value = parsePlainDecimalBytes(buf, valueStart, pipe);
    if (value === undefined || (type === 'ms' && value < 0)) return -1;
    out.value = value;
    out.memberStart = pipe;
    out.memberEnd = pipe;
    const sign = buf[valueStart];
    out.gaugeDelta = type === 'g' && (sign === 0x2b || sign === 0x2d);
  }
  out.bytes = buf;
  out.keyStart = start;
  out.keyEnd = keyEnd;
  out.keyHash = keyHash;
  out.type = type;
  out.sampleRate = sampleRate;
  return lineEnd;
}

const EMPTY = new Uint8Array(0);

/** A reused StatsdBytesSample for parseCommonStatsdLine. */
const scratch: StatsdBytesSample = reusableStatsdBytesSample(EMPTY);

/**
 * readCommonStatsdLine as a StatsdSample, for a caller that needs the key as a string: `keys` and `members` give
 * the name and set member strings.
 */
export function parseCommonStatsdLine(
  buf: Uint8Array,
  start: number,
  end: number,
  maxKeyLength: number,
  keys: AsciiInterner,
  members: AsciiInterner,
  out: StatsdSample,
): boolean {
  const line = scratch;
  if (readCommonStatsdLine(buf, start, end, maxKeyLength, line) !== end) return false;
  out.name = keys.intern(buf, line.keyStart, line.keyEnd, line.keyHash);
  out.type = line.type;
  out.value = line.value;
  out.member =
    line.type !== 's'
      ? ''
      : line.memberStart === line.memberEnd
        ? '0'
        : members.intern(buf, line.memberStart, line.memberEnd);
  out.sampleRate = line.sampleRate;
  out.gaugeDelta = line.gaugeDelta;
  line.bytes = EMPTY; // holds nothing of the caller's buffer past the call
  return true;
}
