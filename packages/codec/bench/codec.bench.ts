// Encode/decode throughput and size of realistic 10 s series in 360-point chunks (1 h), against the built code.
import { addSample, statPointOf, type StatPoint } from '@carillon/core';
import { ChunkEncoder, decodeChunk, encodeChunk } from '@carillon/codec';
import type { BenchRow } from '../../../bench/row.ts';
import { opsPerSecond } from '../../../bench/timing.ts';
import { mulberry32 } from '../../../test/support/random.ts';

const CHUNK_POINTS = 360;
const CHUNKS = 200;
const STEP = 10;
const FLAT_ROW_BYTES = 56; // 6 float64 values + a float64 time

/** A series shape: given a seeded random source, the point at each time. */
type Shape = (random: () => number) => (time: number) => StatPoint;

/** The same shapes as the codec test's informational table. Seeded (mulberry32): every run measures the same data. */
const shapes: Record<string, Shape> = {
  'cpu gauge (0-100, 2 dp)': (r) => {
    let load = 35;
    return (time) => {
      load = Math.min(100, Math.max(0, load + (r() - 0.5) * 6));
      return statPointOf(time, Math.round(load * 100) / 100);
    };
  },
  'request counter': (r) => {
    let requests = 1_234_567;
    return (time) => statPointOf(time, (requests += Math.floor(r() * 500)));
  },
  'latency timer (ms)': (r) => (time) => {
    const samples = 50 + Math.floor(r() * 100);
    const latency = statPointOf(time, 5 + Math.floor(r() * 40));
    for (let s = 1; s < samples; s++) addSample(latency, 5 + Math.floor(r() ** 3 * 400));
    return latency;
  },
};

function chunksOf(shape: Shape): StatPoint[][] {
  const chunks: StatPoint[][] = [];
  for (let c = 0; c < CHUNKS; c++) {
    const next = shape(mulberry32(c + 1));
    const start = 1_700_000_000 + c * CHUNK_POINTS * STEP;
    chunks.push(Array.from({ length: CHUNK_POINTS }, (_, i) => next(start + i * STEP)));
  }
  return chunks;
}

/** Points per second of `pass`, which handles `points` points, run for at least `ms`. */
function rate(points: number, pass: () => void, ms = 400): number {
  return opsPerSecond(points, pass, ms);
}

export default async function run(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const totalPoints = CHUNKS * CHUNK_POINTS;
  let sink = 0;
  for (const [name, shape] of Object.entries(shapes)) {
    const chunks = chunksOf(shape);
    const encoded = chunks.map((points) => encodeChunk(points, STEP));
    const bytes = encoded.reduce((sum, chunk) => sum + chunk.length, 0);
    rows.push({
      name: `${name}: size`,
      value: bytes / totalPoints,
      unit: 'bytes/point',
      note: `flat row ${FLAT_ROW_BYTES}, ${((FLAT_ROW_BYTES * totalPoints) / bytes).toFixed(1)}x smaller`,
    });
    rows.push({
      name: `${name}: encodeChunk`,
      value: rate(totalPoints, () => {
        for (const points of chunks) sink += encodeChunk(points, STEP).length;
      }),
      unit: 'points/s',
    });
    rows.push({
      name: `${name}: ChunkEncoder.append`,
      value: rate(totalPoints, () => {
        for (const points of chunks) {
          const encoder = new ChunkEncoder(STEP);
          for (const point of points) encoder.append(point);
          sink += encoder.count;
        }
      }),
      unit: 'points/s',
      note: 'incremental, no snapshot',
    });
    rows.push({
      name: `${name}: decodeChunk`,
      value: rate(totalPoints, () => {
        for (const chunk of encoded) sink += decodeChunk(chunk).length;
      }),
      unit: 'points/s',
    });
  }
  if (sink === 0) throw new Error('benchmark did no work');
  return rows;
}
