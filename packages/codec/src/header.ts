import { ChunkFormatError } from './errors.js';

/** The format version this build writes. Version 2 added each point's first/last timestamps (chunk.ts). */
export const CHUNK_FORMAT_VERSION = 2;

/** Versions this build reads: 1 (no timestamps: they are taken as the window start) and 2. */
export const READABLE_CHUNK_VERSIONS: readonly number[] = [1, 2];

/** Largest |time| a chunk holds (about 71 million years of epoch seconds): keeps every delta-of-delta exact. */
export const MAX_CHUNK_TIME = 2 ** 51;

/** Largest step in seconds (about 68 years). */
export const MAX_CHUNK_STEP = 2 ** 31 - 1;

/** What a chunk says about itself before its points. */
export interface ChunkHeader {
  version: number;
  /** The resolution's step in seconds; the expected delta between points. */
  step: number;
  /** Number of points. */
  count: number;
  /** Time of the first point, or undefined for an empty chunk. */
  firstTime: number | undefined;
  /** Offset of the bit-packed points in the chunk. */
  bodyOffset: number;
}

/** Bytes a varuint of `value` takes. */
function varUintLength(value: number): number {
  let length = 1;
  for (let rest = value; rest >= 128; rest = Math.floor(rest / 128)) length++;
  return length;
}

function writeVarUint(target: Uint8Array, offset: number, value: number): number {
  let rest = value;
  let at = offset;
  while (rest >= 128) {
    target[at++] = (rest % 128) | 128;
    rest = Math.floor(rest / 128);
  }
  target[at++] = rest;
  return at;
}

function zigzag(value: number): number {
  return value >= 0 ? value * 2 : -value * 2 - 1;
}

/** Header layout: version byte, step varuint, count varuint, then (count > 0) zigzag varuint of the first time. */
export function headerLength(step: number, count: number, firstTime: number | undefined): number {
  return 1 + varUintLength(step) + varUintLength(count) + (count > 0 ? varUintLength(zigzag(firstTime ?? 0)) : 0);
}

/** Writes the header into `target` from offset 0 and returns its length. */
export function writeHeader(target: Uint8Array, step: number, count: number, firstTime: number | undefined): number {
  target[0] = CHUNK_FORMAT_VERSION;
  let at = writeVarUint(target, 1, step);
  at = writeVarUint(target, at, count);
  if (count > 0) at = writeVarUint(target, at, zigzag(firstTime ?? 0));
  return at;
}

/** Reads and validates a chunk's header. Throws `ChunkFormatError` on an unknown version or a bad header. */
export function readChunkHeader(bytes: Uint8Array): ChunkHeader {
  if (bytes.length === 0) throw new ChunkFormatError('empty input');
  const version = bytes[0]!;
  if (!READABLE_CHUNK_VERSIONS.includes(version)) {
    throw new ChunkFormatError(
      `unknown format version ${version} (this build reads versions ${READABLE_CHUNK_VERSIONS.join(', ')})`,
    );
  }
  const cursor = { at: 1 };
  const step = readVarUint(bytes, cursor, 'step');
  if (step < 1 || step > MAX_CHUNK_STEP) throw new ChunkFormatError(`step ${step} out of range`);
  const count = readVarUint(bytes, cursor, 'count');
  let firstTime: number | undefined;
  if (count > 0) {
    const encoded = readVarUint(bytes, cursor, 'first time');
    firstTime = encoded % 2 === 0 ? encoded / 2 : -(encoded + 1) / 2;
    if (Math.abs(firstTime) > MAX_CHUNK_TIME) throw new ChunkFormatError(`first time ${firstTime} out of range`);
  }
  return { version, step, count, firstTime, bodyOffset: cursor.at };
}

/** Reads a varuint of at most 8 bytes (56 bits: every value the header holds is below 2^53). */
function readVarUint(bytes: Uint8Array, cursor: { at: number }, field: string): number {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 8; i++) {
    const byte = bytes[cursor.at++];
    if (byte === undefined) throw new ChunkFormatError(`truncated header (${field})`);
    value += (byte & 127) * scale;
    if (byte < 128) {
      if (!Number.isSafeInteger(value)) break;
      return value;
    }
    scale *= 128;
  }
  throw new ChunkFormatError(`header field ${field} too large`);
}
