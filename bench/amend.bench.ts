// Amends beside on-time writes, per store: points/s of windows written on time, then of late StatPoints merged into
// those stored windows (FlushBatch.amend: read, merge, rewrite). Memory and whisper always; Cassandra flat rows and
// chunks against a local Cassandra (CASSANDRA_CONTACT_POINTS, default 127.0.0.1:9042), a loud SKIPPED row without.
// Bounded: a fixed number of series and windows per store; temp dirs and keyspaces are removed after.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import cassandra from 'cassandra-driver';
import { makeBatch, MetricsRegistry, nowSeconds, windowStart, type FlushBatch, type Writer } from '@carillon/core';
import { MemoryStore } from '@carillon/query';
import { CassandraBlobStore, CassandraStore, DEFAULT_BLOB_OPTIONS, WhisperStore } from '@carillon/writers';
import type { BenchRow } from './row.ts';
import {
  contactPoints,
  poolOptions,
  reachable,
  resolutions,
  skippedRows,
  storeDeps,
  storeOptions,
} from '../packages/writers/bench/cassandra-shared.ts';

const WINDOWS = 3;
const finest = resolutions[0]!; // the shared literal has three resolutions

/** Half average series (whisper keeps their sum and count in the sidecar), half sums (merged from the value). */
const namesOf = (series: number): string[] =>
  Array.from({ length: series }, (_, i) => `bench.host${i % 100}.m${Math.floor(i / 100)}.${i % 2 ? 'count' : 'value'}`);

function batchAt(names: string[], time: number, late: boolean): FlushBatch {
  return makeBatch(
    finest,
    time,
    names.map((name, i) => [
      name,
      late
        ? { time, min: -i, max: -i, sum: -i, first: -i, last: -i, count: 1, firstTime: time + 1, lastTime: time + 1 }
        : {
            time,
            min: i,
            max: i + 2,
            sum: 3 * i + 3,
            first: i,
            last: i + 2,
            count: 3,
            firstTime: time + 2,
            lastTime: time + 8,
          },
    ]),
    late ? { heldFrom: time + 600 } : undefined,
  );
}

/** On-time writes of WINDOWS windows, then one amend of each: both as points/s. */
async function measure(label: string, store: Writer, series: number, note: string): Promise<BenchRow[]> {
  const names = namesOf(series);
  const start = windowStart(nowSeconds(), 10) - 10 * (WINDOWS + 30);
  // Window -1 first, untimed: files, statements and index rows are made there.
  await store.write(batchAt(names, start - 10, false));
  let t = performance.now();
  for (let w = 0; w < WINDOWS; w++) await store.write(batchAt(names, start + 10 * w, false));
  const onTime = (series * WINDOWS) / ((performance.now() - t) / 1000);
  t = performance.now();
  for (let w = 0; w < WINDOWS; w++) {
    const outcome = await store.write(batchAt(names, start + 10 * w, true));
    if (outcome && outcome.retry) throw new Error(`${label}: ${outcome.retry.names.length} amends not stored`);
  }
  const amended = (series * WINDOWS) / ((performance.now() - t) / 1000);
  return [
    { name: `${label}: on-time windows written`, value: onTime, unit: 'points/s', note },
    { name: `${label}: late points merged (amends)`, value: amended, unit: 'points/s', note },
  ];
}

async function whisper(): Promise<BenchRow[]> {
  const dataDir = await mkdtemp(join(tmpdir(), 'carillon-amend-bench-'));
  const store = new WhisperStore({ dataDir, resolutions, maxOpenFiles: 10_000 }, { metrics: new MetricsRegistry() });
  try {
    return await measure('whisper', store, 5_000, '5,000 series, all open, half average half sum');
  } finally {
    await store.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

async function onCassandra(kind: 'flat' | 'blob'): Promise<BenchRow[]> {
  const keyspace = `bench_amend_${kind}_${Date.now().toString(36)}`;
  const metrics = new MetricsRegistry();
  const options = storeOptions(keyspace);
  const store =
    kind === 'flat'
      ? await CassandraStore.open(options, poolOptions(2), storeDeps(metrics))
      : await CassandraBlobStore.open(
          options,
          {
            ...DEFAULT_BLOB_OPTIONS,
            schemas: ['blob', 'blob', 'blob'],
            chunkSpans: [600, 3600, 36_000],
            persistIntervalMs: 3_600_000,
          },
          poolOptions(2),
          storeDeps(metrics),
        );
  try {
    return await measure(`cassandra ${kind}`, store, 5_000, '5,000 series, 2 pool workers');
  } finally {
    await store.close();
    const client = new cassandra.Client({ contactPoints, localDataCenter: options.localDataCenter });
    await client.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`).finally(() => client.shutdown());
  }
}

export default async function run(): Promise<BenchRow[]> {
  const rows = [
    ...(await measure('memory', new MemoryStore({ maxPoints: 10_000_000 }), 50_000, '50,000 series')),
    ...(await whisper()),
  ];
  if (!(await reachable())) return [...rows, ...skippedRows()];
  return [...rows, ...(await onCassandra('flat')), ...(await onCassandra('blob'))];
}
