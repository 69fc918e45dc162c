import { describe, expect, it } from 'vitest';
import { addSample, statPointOf, type StatPoint } from '@carillon/core';
import {
  BitReader,
  BitWriter,
  CHUNK_FORMAT_VERSION,
  READABLE_CHUNK_VERSIONS,
  ChunkEncoder,
  ChunkFormatError,
  MAX_CHUNK_TIME,
  decodeChunk,
  encodeChunk,
  readChunkHeader,
} from '@carillon/codec';
import { mulberry32 } from '../../../test/support/random.js';

const bitsView = new DataView(new ArrayBuffer(8));
function bitsOf(value: number): bigint {
  bitsView.setFloat64(0, value);
  return bitsView.getBigUint64(0);
}
function floatOfBits(bits: bigint): number {
  bitsView.setBigUint64(0, bits);
  return bitsView.getFloat64(0);
}

const FIELDS = ['time', 'min', 'max', 'sum', 'first', 'last', 'count', 'firstTime', 'lastTime'] as const;

/** Points as raw bit patterns, so NaN payloads and -0 are compared exactly (a missing timestamp as '-'). */
function asBits(points: readonly StatPoint[]): string[][] {
  return points.map((p) => FIELDS.map((f) => (p[f] === undefined ? '-' : bitsOf(p[f]).toString(16))));
}

function expectRoundTrip(points: readonly StatPoint[], step: number): Uint8Array {
  const bytes = encodeChunk(points, step);
  expect(asBits(decodeChunk(bytes))).toEqual(asBits(points));
  return bytes;
}

// Payload-carrying NaNs, quiet and signalling, positive and negative.
const NAN_BITS = [
  0x7ff8000000000000n,
  0x7ff8000000000001n,
  0xfff4000000000abcn,
  0x7ff0000000000001n,
  0xfffffffffffffffn,
];
const SPECIALS = [
  0,
  -0,
  Infinity,
  -Infinity,
  Number.MIN_VALUE,
  -Number.MIN_VALUE,
  2.2250738585072e-308, // subnormal
  Number.MAX_VALUE,
  -Number.MAX_VALUE,
  Number.EPSILON,
  2 ** 53 + 2,
  2 ** 64,
  ...NAN_BITS.map(floatOfBits),
];

type ValueSource = (random: () => number, index: number) => number;

const valueSources: Record<string, ValueSource> = {
  random: (r) => (r() - 0.5) * 10 ** Math.floor(r() * 20 - 10),
  monotonic: (_r, i) => i * 17 + 1000,
  constant: () => 42.5,
  spiky: (r) => (r() < 0.05 ? r() * 1e12 : r() * 10),
  huge: (r) => (r() < 0.5 ? 1 : -1) * Number.MAX_VALUE * r(),
  tiny: (r) => (r() < 0.5 ? 1 : -1) * Number.MIN_VALUE * Math.floor(r() * 2 ** 40),
  specials: (r) => SPECIALS[Math.floor(r() * SPECIALS.length)]!,
  rawBits: (r) => floatOfBits((BigInt(Math.floor(r() * 2 ** 32)) << 32n) | BigInt(Math.floor(r() * 2 ** 32))),
  decimals: (r) => Math.round(r() * 10000) / 100,
};

type TimeSource = (random: () => number, step: number) => number;

const timeSources: Record<string, TimeSource> = {
  regular: (_r, step) => step,
  gaps: (r, step) => step * (r() < 0.1 ? 1 + Math.floor(r() * 50) : 1),
  jitter: (r, step) => Math.max(1, step + Math.floor(r() * 7) - 3),
  wild: (r) => 1 + Math.floor(r() ** 8 * 2 ** 40),
};

/** A series mixing single-value and full points, as an accumulator produces them. */
function series(seed: number, length: number, values: ValueSource, times: TimeSource, step: number): StatPoint[] {
  const r = mulberry32(seed);
  const points: StatPoint[] = [];
  let time = Math.floor((r() - 0.5) * 2 ** 34);
  for (let i = 0; i < length; i++) {
    if (i > 0) time += times(r, step);
    if (r() < 0.4) {
      points.push(statPointOf(time, values(r, i)));
    } else {
      points.push({
        time,
        min: values(r, i),
        max: values(r, i),
        sum: values(r, i),
        first: values(r, i),
        last: values(r, i),
        count: r() < 0.2 ? values(r, i) : 1 + Math.floor(r() * 1000),
      });
    }
  }
  return points;
}

describe('BitWriter / BitReader', () => {
  it('round-trip random widths 0..32 across byte boundaries and buffer growth', () => {
    const r = mulberry32(1);
    const writes: [number, number][] = [];
    const writer = new BitWriter(8);
    for (let i = 0; i < 5000; i++) {
      const width = Math.floor(r() * 33);
      const value = width === 0 ? 0 : Math.floor(r() * 2 ** width);
      writes.push([value, width]);
      if (width === 1 && r() < 0.5) writer.writeBit(value);
      else writer.writeBits(value, width);
    }
    const totalBits = writes.reduce((sum, [, w]) => sum + w, 0);
    expect(writer.bitLength).toBe(totalBits);
    const bytes = writer.toBytes();
    expect(bytes.length).toBe(Math.ceil(totalBits / 8));
    const reader = new BitReader(bytes);
    for (const [value, width] of writes) expect(reader.readBits(width)).toBe(value);
    expect(reader.atPaddedEnd()).toBe(true);
    expect(() => reader.readBits(9)).toThrow(ChunkFormatError);
  });

  it('ignores bits above the requested width', () => {
    const writer = new BitWriter();
    writer.writeBits(0xffffffff, 4);
    writer.writeBits(0, 4);
    expect([...writer.toBytes()]).toEqual([0xf0]);
  });
});

describe('chunk round trip', () => {
  for (const [valueName, values] of Object.entries(valueSources)) {
    for (const [timeName, times] of Object.entries(timeSources)) {
      it(`${valueName} values, ${timeName} times`, () => {
        for (let seed = 1; seed <= 20; seed++) {
          const length = [0, 1, 2, 3, 50, 361][seed % 6]!;
          expectRoundTrip(series(seed, length, values, times, 10), 10);
        }
      });
    }
  }

  it('thousands of points', () => {
    const points = series(7, 5000, valueSources.random!, timeSources.gaps!, 60);
    const bytes = expectRoundTrip(points, 60);
    expect(readChunkHeader(bytes)).toMatchObject({ version: CHUNK_FORMAT_VERSION, step: 60, count: 5000 });
  });

  it('an empty chunk', () => {
    const bytes = expectRoundTrip([], 10);
    expect(readChunkHeader(bytes)).toMatchObject({ count: 0, firstTime: undefined });
    expect(bytes.length).toBeLessThanOrEqual(4);
  });

  it('a single point, full and single-valued', () => {
    expectRoundTrip([statPointOf(1_700_000_000, 3.25)], 10);
    expectRoundTrip([{ time: -5, min: 1, max: 9, sum: 20, first: 9, last: 1, count: 4 }], 1);
  });

  it('keeps NaN payloads, -0, infinities and subnormals in every field, in both forms', () => {
    const points: StatPoint[] = [];
    let time = 0;
    for (const a of SPECIALS) {
      points.push(statPointOf((time += 10), a));
      for (const b of SPECIALS) {
        points.push({ time: (time += 10), min: a, max: b, sum: a, first: b, last: a, count: b });
      }
    }
    // The payloads survive being stored in the test's own objects, so the comparison below is meaningful.
    expect(bitsOf(floatOfBits(0xfff4000000000abcn))).toBe(0xfff4000000000abcn);
    expectRoundTrip(points, 10);
  });

  it('does not take the single-value form when only -0 and 0 or two NaNs differ', () => {
    const nanA = floatOfBits(NAN_BITS[0]!);
    const nanB = floatOfBits(NAN_BITS[1]!);
    const points: StatPoint[] = [
      { time: 10, min: -0, max: 0, sum: 0, first: 0, last: 0, count: 1 },
      { time: 20, min: nanA, max: nanA, sum: nanA, first: nanA, last: nanB, count: 1 },
      { time: 30, min: nanB, max: nanB, sum: nanB, first: nanB, last: nanB, count: 1 },
    ];
    expectRoundTrip(points, 10);
  });

  it('stores count as a float64: integers above 2^53 and fractional counts round-trip', () => {
    const counts = [2 ** 53, 2 ** 53 + 2, 2 ** 60 + 2 ** 8, 2 ** 1000, 0.5, 0, -1, Number.MAX_SAFE_INTEGER];
    const points = counts.map((count, i) => ({ time: i * 10, min: 1, max: 1, sum: 1, first: 1, last: 1, count }));
    const decoded = decodeChunk(encodeChunk(points, 10));
    expect(decoded.map((p) => p.count)).toEqual(counts);
    expect(asBits(decoded)).toEqual(asBits(points));
  });

  it('handles the extremes of the time range and of the step', () => {
    expectRoundTrip(
      [
        statPointOf(-MAX_CHUNK_TIME, 1),
        statPointOf(-MAX_CHUNK_TIME + 1, 2),
        statPointOf(MAX_CHUNK_TIME - 1, 3),
        statPointOf(MAX_CHUNK_TIME, 4),
      ],
      1,
    );
    expectRoundTrip([statPointOf(0, 1), statPointOf(1, 2), statPointOf(2 ** 31, 3)], 2 ** 31 - 1);
  });
});

describe('first and last timestamps (version 2)', () => {
  it('round-trip exactly, fractional and at the window edges, beside points without them', () => {
    const r = mulberry32(11);
    const points: StatPoint[] = [];
    for (let i = 0; i < 400; i++) {
      const time = 1_700_000_000 + i * 10;
      const point: StatPoint = { time, min: 1, max: 4, sum: 9, first: 4, last: 1, count: 3 };
      const kind = i % 5;
      if (kind === 1) Object.assign(point, { firstTime: time, lastTime: time + 9 });
      if (kind === 2) Object.assign(point, { firstTime: time + r() * 10, lastTime: time + 9.999999 });
      if (kind === 3) Object.assign(point, { firstTime: time + Math.floor(r() * 10), lastTime: time + 9 });
      if (kind === 4) point.firstTime = time + 2; // only one of the two known
      points.push(point);
    }
    expectRoundTrip(points, 10);
    // And through an encoder continued from persisted bytes.
    const half = encodeChunk(points.slice(0, 200), 10);
    const continued = ChunkEncoder.fromBytes(half);
    for (const point of points.slice(200)) continued.append(point);
    expect(asBits(decodeChunk(continued.bytes()))).toEqual(asBits(points));
  });

  it('still reads version 1 chunks (stored before timestamps were kept), and continues them as version 2', () => {
    // Written by the version 1 encoder: the three points below, step 10.
    const v1 = Buffer.from(
      '010a0380c49fd50ce227ff3095fff099ff9c267fef099ff9c257ffc257ff453015ffe003c006800f80affe',
      'hex',
    );
    const stored: StatPoint[] = [
      { time: 1700000000, min: 1, max: 1, sum: 1, first: 1, last: 1, count: 1 },
      { time: 1700000010, min: 2, max: 5, sum: 7, first: 5, last: 2, count: 2 },
      { time: 1700000030, min: -0.5, max: 3, sum: 2.5, first: 3, last: -0.5, count: 2 },
    ];
    expect(readChunkHeader(v1).version).toBe(1);
    expect(asBits(decodeChunk(v1))).toEqual(asBits(stored));
    const continued = ChunkEncoder.fromBytes(v1);
    const later = { ...statPointOf(1700000040, 6), firstTime: 1700000041, lastTime: 1700000041 };
    continued.append(later);
    expect(readChunkHeader(continued.bytes()).version).toBe(CHUNK_FORMAT_VERSION);
    expect(asBits(decodeChunk(continued.bytes()))).toEqual(asBits([...stored, later]));
  });
});

describe('compression', () => {
  it('a regular constant series costs about 4 bits a point (kind, delta-of-delta, unchanged times and value)', () => {
    const points = Array.from({ length: 1000 }, (_, i) => statPointOf(1_700_000_000 + i * 10, 7));
    const bytes = expectRoundTrip(points, 10);
    expect(bytes.length).toBeLessThan(20 + (1000 * 4) / 8);
  });

  it('timestamps at a steady phase cost one bit a point once the first point has set them', () => {
    const at = (i: number, phase: number): StatPoint => ({
      ...statPointOf(1_700_000_000 + i * 10, 7),
      firstTime: 1_700_000_000 + i * 10 + phase,
      lastTime: 1_700_000_000 + i * 10 + phase,
    });
    const steady = expectRoundTrip(
      Array.from({ length: 1000 }, (_, i) => at(i, 3)),
      10,
    );
    expect(steady.length).toBeLessThan(40 + (1000 * 4) / 8);
  });

  it('a regular timer series with unchanged values costs about 9 bits a point', () => {
    const points = Array.from({ length: 1000 }, (_, i) => ({
      time: i * 60,
      min: 1,
      max: 5,
      sum: 30,
      first: 2,
      last: 4,
      count: 10,
    }));
    expect(expectRoundTrip(points, 60).length).toBeLessThan(40 + (1000 * 9) / 8);
  });

  it('prints bytes per point for realistic series and beats the flat 56-byte row', () => {
    const flat = 56;
    const rows: string[] = [];
    for (const [name, points] of Object.entries(realisticSeries(360))) {
      const bytes = expectRoundTrip(points, 10);
      const perPoint = bytes.length / points.length;
      rows.push(
        `${name.padEnd(28)} ${perPoint.toFixed(2).padStart(6)} bytes/point  (flat ${flat}, ${(flat / perPoint).toFixed(1)}x)`,
      );
      expect(perPoint).toBeLessThan(flat);
    }
    console.log(`codec, 360-point chunks:\n${rows.join('\n')}`);
  });
});

/** Realistic 10 s series, the same shapes the benchmark measures. */
function realisticSeries(length: number): Record<string, StatPoint[]> {
  const r = mulberry32(99);
  const start = 1_700_000_000;
  const cpu: StatPoint[] = [];
  const counter: StatPoint[] = [];
  const timer: StatPoint[] = [];
  let load = 35;
  let requests = 1_234_567;
  for (let i = 0; i < length; i++) {
    const time = start + i * 10;
    load = Math.min(100, Math.max(0, load + (r() - 0.5) * 6));
    cpu.push(statPointOf(time, Math.round(load * 100) / 100));
    requests += Math.floor(r() * 500);
    counter.push(statPointOf(time, requests));
    const samples = 50 + Math.floor(r() * 100);
    const latency = statPointOf(time, 5 + Math.floor(r() * 40));
    for (let s = 1; s < samples; s++) addSample(latency, 5 + Math.floor(r() ** 3 * 400));
    timer.push(latency);
  }
  return { 'cpu gauge (0-100, 2 dp)': cpu, 'request counter': counter, 'latency timer (ms)': timer };
}

describe('ChunkEncoder', () => {
  it('snapshots decode to prefixes and do not change as the chunk grows', () => {
    for (let seed = 1; seed <= 10; seed++) {
      const points = series(seed, 300, valueSources.specials!, timeSources.gaps!, 10);
      const encoder = new ChunkEncoder(10);
      const snapshots: [number, Uint8Array, string[][]][] = [];
      const empty = encoder.bytes();
      expect(decodeChunk(empty)).toEqual([]);
      points.forEach((point, i) => {
        encoder.append(point);
        expect(encoder.count).toBe(i + 1);
        expect(encoder.lastTime).toBe(point.time);
        if (i % 37 === 0 || i === points.length - 1) {
          const bytes = encoder.bytes();
          expect(bytes.length).toBe(encoder.byteLength);
          snapshots.push([i + 1, bytes, asBits(decodeChunk(bytes))]);
        }
      });
      for (const [length, bytes, decoded] of snapshots) {
        expect(decoded).toEqual(asBits(points.slice(0, length)));
        expect(asBits(decodeChunk(bytes))).toEqual(decoded);
      }
      expect(encoder.bytes()).toEqual(encodeChunk(points, 10));
    }
  });

  it('continues a persisted chunk: fromBytes gives back the same bytes and the same later chunk', () => {
    const points = series(11, 200, valueSources.random!, timeSources.gaps!, 10);
    const persisted = encodeChunk(points.slice(0, 120), 10);
    const resumed = ChunkEncoder.fromBytes(persisted);
    expect(resumed.bytes()).toEqual(persisted);
    expect(resumed.lastTime).toBe(points[119]!.time);
    for (const point of points.slice(120)) resumed.append(point);
    expect(resumed.bytes()).toEqual(encodeChunk(points, 10));
    expect(ChunkEncoder.fromBytes(encodeChunk([], 60)).step).toBe(60);
  });

  it('refuses times that do not strictly increase, appending nothing', () => {
    const encoder = new ChunkEncoder(10);
    encoder.append(statPointOf(100, 1));
    const before = encoder.bytes();
    expect(() => encoder.append(statPointOf(100, 2))).toThrow(/strictly increase: 100 after 100/);
    expect(() => encoder.append(statPointOf(90, 2))).toThrow(RangeError);
    expect(encoder.bytes()).toEqual(before);
    encoder.append(statPointOf(110, 2));
    expect(decodeChunk(encoder.bytes()).map((p) => p.time)).toEqual([100, 110]);
    expect(() => encodeChunk([statPointOf(20, 1), statPointOf(10, 1)], 10)).toThrow(RangeError);
  });

  it.each([1.5, NaN, Infinity, MAX_CHUNK_TIME + 2, -MAX_CHUNK_TIME - 2])('refuses time %s', (time) => {
    expect(() => new ChunkEncoder(10).append(statPointOf(time, 1))).toThrow(/integer/);
  });

  it.each([0, -10, 1.5, NaN, 2 ** 31])('refuses step %s', (step) => {
    expect(() => new ChunkEncoder(step)).toThrow(RangeError);
  });
});

describe('decoding bad bytes', () => {
  const good = encodeChunk(series(3, 100, valueSources.random!, timeSources.jitter!, 10), 10);

  it('rejects an unknown version byte with a clear error', () => {
    for (const version of [0, CHUNK_FORMAT_VERSION + 1, 255]) {
      const bytes = good.slice();
      bytes[0] = version;
      expect(() => decodeChunk(bytes)).toThrow(
        new ChunkFormatError(
          `unknown format version ${version} (this build reads versions ${READABLE_CHUNK_VERSIONS.join(', ')})`,
        ),
      );
    }
  });

  it('rejects empty input, truncation and trailing bytes', () => {
    expect(() => decodeChunk(new Uint8Array())).toThrow(/empty input/);
    for (let length = 1; length < good.length; length++) {
      expect(() => decodeChunk(good.subarray(0, length))).toThrow(ChunkFormatError);
    }
    const longer = new Uint8Array(good.length + 1);
    longer.set(good);
    expect(() => decodeChunk(longer)).toThrow(/trailing bytes/);
  });

  it('never fails with anything but ChunkFormatError on corrupted chunks', () => {
    const r = mulberry32(5);
    for (let i = 0; i < 2000; i++) {
      const bytes = good.slice();
      const flips = 1 + Math.floor(r() * 4);
      for (let f = 0; f < flips; f++) {
        const at = 1 + Math.floor(r() * (bytes.length - 1));
        bytes[at]! ^= 1 << Math.floor(r() * 8);
      }
      try {
        const points = decodeChunk(bytes);
        for (let p = 1; p < points.length; p++) expect(points[p]!.time).toBeGreaterThan(points[p - 1]!.time);
      } catch (error) {
        expect(error).toBeInstanceOf(ChunkFormatError);
      }
    }
  });
});
