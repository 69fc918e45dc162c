import type { StatPoint } from '@carillon/core';
import { BitReader } from './bit-reader.js';
import { BitWriter } from './bit-writer.js';
import { readDeltaOfDelta, writeDeltaOfDelta } from './delta-of-delta.js';
import { ChunkFormatError } from './errors.js';
import { sameBits } from './float-bits.js';
import { MAX_CHUNK_STEP, MAX_CHUNK_TIME, headerLength, readChunkHeader, writeHeader } from './header.js';
import { XorColumnsDecoder, XorColumnsEncoder } from './xor-columns.js';

// A chunk is a header (see header.ts) followed by a bit stream, one entry per point:
//   kind bit: 1 = single value (count is 1 and min, max, sum, first, last have identical bits), 0 = full
//   delta-of-delta of the time (not for the first point, whose time is in the header); the delta before
//     the first one is taken to be the step, so a regular series costs one bit per point
//   (version 2) times bit: 0 = the same first/last timestamp offsets as the point before, 1 = new offsets
//     follow, the first's and the last's (timestamp - window start), each XORed against its previous; NaN
//     offsets mean a point without timestamps (taken as its window start), as every point of version 1 is
//   single: the value, XORed against the `last` column; every other column then takes it (count 1)
//   full:   min, max, sum, first, last, count, each XORed against its own previous value
// Values are raw float64 bits, so everything round-trips exactly: NaN payloads, ±Infinity, -0, subnormals,
// and counts above 2^53 (count is a float64 like the rest). The timestamps are kept so an amend merges first
// and last by timestamp exactly (core mergeStatPoint); a series reporting at a steady phase pays one bit a point.

const MIN = 0;
const MAX = 1;
const SUM = 2;
const FIRST = 3;
const LAST = 4;
const COUNT = 5;
const FIRST_OFFSET = 6;
const LAST_OFFSET = 7;
const COLUMNS = 8;

/**
 * A timestamp as its offset from the window start. Exact both ways: a timestamp lies in [time, time + step), and
 * the difference of two floats within a factor of two of each other is exact (Sterbenz), as is adding it back.
 */
function offsetOf(timestamp: number | undefined, time: number): number {
  return timestamp === undefined ? NaN : timestamp - time;
}

function isSingleValue(point: StatPoint): boolean {
  const value = point.last;
  return (
    point.count === 1 &&
    sameBits(point.min, value) &&
    sameBits(point.max, value) &&
    sameBits(point.sum, value) &&
    sameBits(point.first, value)
  );
}

/**
 * Builds one chunk a point at a time, so an open chunk can grow in memory and be persisted at any moment.
 * Times are integer seconds, strictly increasing, with |time| ≤ MAX_CHUNK_TIME; gaps of any size are fine.
 */
export class ChunkEncoder {
  private readonly body: BitWriter;
  private readonly values = new XorColumnsEncoder(COLUMNS);
  private pointCount = 0;
  private firstTime = 0;
  private previousTime = 0;
  private previousDelta: number;
  /** The timestamp offsets of the point before (NaN: none), against which the times bit is written. */
  private previousFirstOffset = NaN;
  private previousLastOffset = NaN;

  /** `step`: the resolution's step in seconds, a positive integer ≤ MAX_CHUNK_STEP. */
  constructor(
    readonly step: number,
    initialBytes = 256,
  ) {
    if (!Number.isInteger(step) || step < 1 || step > MAX_CHUNK_STEP) {
      throw new RangeError(`chunk step must be an integer in 1..${MAX_CHUNK_STEP}, got ${step}`);
    }
    this.previousDelta = step;
    this.body = new BitWriter(initialBytes);
  }

  /**
   * An encoder continuing the chunk in `bytes` (for example one persisted before a restart). Encoding is
   * deterministic, so replaying the decoded points rebuilds the exact state and the same bytes.
   */
  static fromBytes(bytes: Uint8Array): ChunkEncoder {
    const points = decodeChunk(bytes);
    const encoder = new ChunkEncoder(readChunkHeader(bytes).step, bytes.length * 2);
    for (const point of points) encoder.append(point);
    return encoder;
  }

  /** Points appended so far. */
  get count(): number {
    return this.pointCount;
  }

  /** Time of the last point appended, or undefined while empty. */
  get lastTime(): number | undefined {
    return this.pointCount === 0 ? undefined : this.previousTime;
  }

  /** Size of what `bytes()` would return now. */
  get byteLength(): number {
    return headerLength(this.step, this.pointCount, this.firstTime) + this.body.byteLength;
  }

  /** Appends a point later than every point so far. Throws RangeError (and appends nothing) otherwise. */
  append(point: StatPoint): void {
    const time = point.time;
    if (!Number.isInteger(time) || Math.abs(time) > MAX_CHUNK_TIME) {
      throw new RangeError(`chunk point time must be an integer with |time| <= 2^51, got ${time}`);
    }
    if (this.pointCount > 0 && time <= this.previousTime) {
      throw new RangeError(`chunk point times must strictly increase: ${time} after ${this.previousTime}`);
    }
    const single = isSingleValue(point);
    const body = this.body;
    body.writeBit(single ? 1 : 0);
    if (this.pointCount === 0) {
      this.firstTime = time;
    } else {
      const delta = time - this.previousTime;
      writeDeltaOfDelta(body, delta - this.previousDelta);
      this.previousDelta = delta;
    }
    this.previousTime = time;
    this.pointCount++;

    const values = this.values;
    const firstOffset = offsetOf(point.firstTime, time);
    const lastOffset = offsetOf(point.lastTime, time);
    if (sameBits(firstOffset, this.previousFirstOffset) && sameBits(lastOffset, this.previousLastOffset)) {
      body.writeBit(0);
    } else {
      body.writeBit(1);
      values.encode(body, FIRST_OFFSET, firstOffset);
      values.encode(body, LAST_OFFSET, lastOffset);
      this.previousFirstOffset = firstOffset;
      this.previousLastOffset = lastOffset;
    }
    if (single) {
      const value = point.last;
      values.encode(body, LAST, value);
      values.assume(MIN, value);
      values.assume(MAX, value);
      values.assume(SUM, value);
      values.assume(FIRST, value);
      values.assume(COUNT, 1);
    } else {
      values.encode(body, MIN, point.min);
      values.encode(body, MAX, point.max);
      values.encode(body, SUM, point.sum);
      values.encode(body, FIRST, point.first);
      values.encode(body, LAST, point.last);
      values.encode(body, COUNT, point.count);
    }
  }

  /** A self-contained copy of the chunk as it stands; appending later does not change it. */
  bytes(): Uint8Array {
    const out = new Uint8Array(this.byteLength);
    const bodyOffset = writeHeader(out, this.step, this.pointCount, this.firstTime);
    this.body.copyTo(out, bodyOffset);
    return out;
  }
}

/** Encodes `points` (strictly increasing integer times) as one chunk at resolution `step` seconds. */
export function encodeChunk(points: readonly StatPoint[], step: number): Uint8Array {
  // Roughly the size of a Graphite gauge chunk, so most chunks never regrow the buffer.
  const encoder = new ChunkEncoder(step, 16 + points.length * 10);
  for (const point of points) encoder.append(point);
  return encoder.bytes();
}

/** Decodes a chunk. Throws `ChunkFormatError` for an unknown version, truncated or corrupt bytes. */
export function decodeChunk(bytes: Uint8Array): StatPoint[] {
  const header = readChunkHeader(bytes);
  const input = new BitReader(bytes, header.bodyOffset);
  // Every point takes at least one bit: a cheap bound before trusting the count.
  if (header.count > input.bitsRemaining) {
    throw new ChunkFormatError(`truncated: ${header.count} points cannot fit in ${input.bitsRemaining} bits`);
  }
  const values = new XorColumnsDecoder(COLUMNS);
  const points: StatPoint[] = [];
  let time = header.firstTime ?? 0;
  let previousDelta = header.step;
  const withTimes = header.version >= 2;
  let firstOffset = NaN;
  let lastOffset = NaN;
  for (let i = 0; i < header.count; i++) {
    const single = input.readBit() === 1;
    if (i > 0) {
      const delta = previousDelta + readDeltaOfDelta(input);
      time += delta;
      if (delta < 1 || Math.abs(time) > MAX_CHUNK_TIME) {
        throw new ChunkFormatError(`corrupt time at point ${i}`);
      }
      previousDelta = delta;
    }
    if (withTimes && input.readBit() === 1) {
      firstOffset = values.decode(input, FIRST_OFFSET);
      lastOffset = values.decode(input, LAST_OFFSET);
    }
    let point: StatPoint;
    if (single) {
      const value = values.decode(input, LAST);
      values.assume(MIN, value);
      values.assume(MAX, value);
      values.assume(SUM, value);
      values.assume(FIRST, value);
      values.assume(COUNT, 1);
      point = { time, min: value, max: value, sum: value, first: value, last: value, count: 1 };
    } else {
      const min = values.decode(input, MIN);
      const max = values.decode(input, MAX);
      const sum = values.decode(input, SUM);
      const first = values.decode(input, FIRST);
      const last = values.decode(input, LAST);
      const count = values.decode(input, COUNT);
      point = { time, min, max, sum, first, last, count };
    }
    if (!Number.isNaN(firstOffset)) point.firstTime = time + firstOffset;
    if (!Number.isNaN(lastOffset)) point.lastTime = time + lastOffset;
    points.push(point);
  }
  if (!input.atPaddedEnd()) throw new ChunkFormatError('trailing bytes after the last point');
  return points;
}
