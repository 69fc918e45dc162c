// Points per second through each writer of the catalogue, queue included: a run of flush batches written as
// fast as the writer takes them, then close() (which delivers what is queued); the figure is the points over the
// time from the first write to the end of close. log/file/archive write to a temp directory; http posts to a
// VictoriaMetrics the bench starts itself (`victoria-metrics` on the PATH); kafka needs KAFKA_BROKERS.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  ConfigSource,
  createLogger,
  makeBatch,
  MetricsRegistry,
  parseResolutions,
  type FlushBatch,
  type RawTable,
} from '@carillon/core';
import { WRITER_TYPES } from '@carillon/writers';
import type { Bench, BenchRow } from '../../../bench/row.ts';

const SERIES = 10_000;
const WINDOWS = 20;
const resolutions = parseResolutions(['10s:168h']);
const names = Array.from({ length: SERIES }, (_, i) => `bench.host${i % 100}.metric${Math.floor(i / 100)}.value`);

function batch(w: number): FlushBatch {
  const time = 1_700_000_000 + w * 10;
  return makeBatch(
    resolutions[0]!,
    time,
    names.map((name, i) => [name, { time, min: i, max: i + 1, sum: 2 * i + 1, first: i, last: i + 1, count: 2 }]),
  );
}

async function measure(entry: RawTable): Promise<number> {
  const type = WRITER_TYPES.find((t) => t.type === entry.type)!;
  const registry = new MetricsRegistry();
  const writer = await type
    .prepare(new ConfigSource({ queue_max_points: 10_000_000, close_timeout: '300s', ...entry }), { spillDir: '' })
    .open({ registry, logger: createLogger('bench', 'silent'), resolutions, aggregationRules: [] });
  const batches = Array.from({ length: WINDOWS }, (_, w) => batch(w));
  const started = performance.now();
  for (const b of batches) await writer.write(b);
  await writer.close();
  const seconds = (performance.now() - started) / 1000;
  const written = registry.value('writer_points_written_total', String(entry.name ?? entry.type));
  if (written !== SERIES * WINDOWS) throw new Error(`${String(entry.type)}: ${written} of ${SERIES * WINDOWS} written`);
  return written / seconds;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

async function startVictoriaMetrics(dir: string): Promise<{ url: string; child: ChildProcess } | undefined> {
  const port = await freePort();
  const child = spawn('victoria-metrics', [`-storageDataPath=${dir}`, `-httpListenAddr=127.0.0.1:${port}`], {
    stdio: 'ignore',
  });
  const failed = await new Promise<boolean>((resolve) => {
    child.once('error', () => resolve(true));
    child.once('spawn', () => resolve(false));
  });
  if (failed) return undefined;
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/health`)).ok) return { url: `http://127.0.0.1:${port}/write`, child };
    } catch {
      // not up yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  child.kill();
  return undefined;
}

const bench: Bench = async () => {
  const rows: BenchRow[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'carillon-bench-outputs-'));
  const row = (name: string, value: number, note: string): void => {
    rows.push({ name: `writer ${name}`, value, unit: 'points/s', note });
  };
  const note = `${WINDOWS} batches of ${SERIES} series`;
  try {
    row('log (to a file)', await measure({ type: 'log', path: join(dir, 'log', 'points.log') }), note);
    row('file', await measure({ type: 'file', base: join(dir, 'tsv', 'stats') }), note);
    row(
      'archive (zstd level 3)',
      await measure({ type: 'archive', dir: join(dir, 'archive'), flush_interval: '60s' }),
      note,
    );
    const vm = await startVictoriaMetrics(join(dir, 'vm'));
    if (vm === undefined)
      rows.push({ name: 'SKIPPED writer http: victoria-metrics not installed', value: 0, unit: '' });
    else
      try {
        row('http → VictoriaMetrics', await measure({ type: 'http', url: vm.url }), `${note}, adaptive batches`);
        row('http → VictoriaMetrics, gzip', await measure({ type: 'http', url: vm.url, gzip: true }), note);
      } finally {
        vm.child.kill();
      }
    const brokers = process.env.KAFKA_BROKERS;
    if (brokers === undefined) rows.push({ name: 'SKIPPED writer kafka: set KAFKA_BROKERS', value: 0, unit: '' });
    else {
      const topic = `bench-${Date.now()}`;
      for (const compression of ['none', 'lz4'])
        row(
          `kafka (${compression})`,
          await measure({ type: 'kafka', brokers: brokers.split(','), topic: `${topic}-${compression}`, compression }),
          `${note}, acks all, index messages`,
        );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
};

export default bench;
