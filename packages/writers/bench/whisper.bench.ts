// Whisper store write throughput: 10k series into a temp dir, first flush (creates every file) and steady flushes,
// with every file kept open and with an LRU smaller than the series count (open/close churn on every write).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { performance } from 'node:perf_hooks';
import { join } from 'node:path';
import { makeBatch, MetricsRegistry, nowSeconds, parseResolutions, windowStart, type FlushBatch } from '@carillon/core';
import { WhisperStore } from '@carillon/writers';
import type { BenchRow } from '../../../bench/row.ts';

const SERIES = 10_000;
const FLUSHES = 5;
const resolutions = parseResolutions(['10s:168h', '1m:720h', '10m:21600h']);
const finest = resolutions[0]!; // parsed from the literal just above
const names = Array.from({ length: SERIES }, (_, i) => `bench.host${i % 100}.metric${Math.floor(i / 100)}.value`);

function batchAt(time: number): FlushBatch {
  return makeBatch(
    finest,
    time,
    names.map((name, i) => [name, { time, min: i, max: i + 2, sum: 3 * i + 3, first: i, last: i + 2, count: 3 }]),
  );
}

async function scenario(label: string, maxOpenFiles: number, concurrency: number): Promise<BenchRow[]> {
  const dataDir = await mkdtemp(join(tmpdir(), 'carillon-whisper-bench-'));
  const metrics = new MetricsRegistry();
  const store = new WhisperStore({ dataDir, resolutions, maxOpenFiles, concurrency }, { metrics });
  const start = windowStart(nowSeconds(), 10) - 10 * (FLUSHES + 1);
  try {
    let t = performance.now();
    await store.write(batchAt(start));
    const createSeconds = (performance.now() - t) / 1000;
    t = performance.now();
    for (let f = 1; f <= FLUSHES; f++) await store.write(batchAt(start + 10 * f));
    const steadySeconds = (performance.now() - t) / 1000;
    const written = metrics.value('whisper_points_written_total');
    if (written !== SERIES * (FLUSHES + 1))
      throw new Error(`wrote ${written} points, expected ${SERIES * (FLUSHES + 1)}`);
    const note = `maxOpenFiles ${maxOpenFiles}, concurrency ${concurrency}, evictions ${metrics.value('whisper_open_file_evictions_total')}`;
    return [
      {
        name: `whisper ${label}: first flush, creating ${SERIES} files`,
        value: SERIES / createSeconds,
        unit: 'points/s',
        note,
      },
      { name: `whisper ${label}: steady flushes`, value: (SERIES * FLUSHES) / steadySeconds, unit: 'points/s', note },
    ];
  } finally {
    await store.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

export default async function run(): Promise<BenchRow[]> {
  return [
    ...(await scenario('all open', SERIES, 16)),
    ...(await scenario('LRU 1024', 1024, 16)),
    ...(await scenario('all open, concurrency 64', SERIES, 64)),
  ];
}
