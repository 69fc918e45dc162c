// Blob against flat write throughput in one run, against a local Cassandra (CASSANDRA_CONTACT_POINTS, default
// 127.0.0.1:9042; CASSANDRA_LOCAL_DC, default datacenter1): the same 20,000 series × 12 windows of 10 s written
// through the write pool (2 workers) as flat rows, then as chunks, each into its own keyspace (dropped after).
// Chunks span 60 s here so every series closes (writes) its chunk twice in the run: the same Cassandra writes per
// series as the default 1 h chunks persisted every 60 s. Prints a SKIPPED row, never a figure, without Cassandra.
import { makeBatch, MetricsRegistry, nowSeconds, type FlushBatch } from '@carillon/core';
import { CassandraBlobStore, CassandraStore, DEFAULT_BLOB_OPTIONS } from '@carillon/writers';
import type { BenchRow } from '../../../bench/row.ts';
import {
  finest,
  names,
  poolOptions,
  reachable,
  SERIES,
  skippedRows,
  storeDeps,
  storeOptions,
  timeFlushes,
} from './cassandra-shared.ts';

const WINDOWS = 12;
const SPAN = 60;
const pool = poolOptions(2);

/** A gauge-like series: slow drift with noise, a few values per window. */
function batchAt(time: number, w: number): FlushBatch {
  return makeBatch(
    finest,
    time,
    names.map((name, i) => {
      const base = 50 + 20 * Math.sin(i + w / 30);
      const a = Math.round((base + ((i * 7 + w * 13) % 10) / 10) * 100) / 100;
      const b = Math.round((base + ((i * 3 + w * 5) % 10) / 10) * 100) / 100;
      return [name, { time, min: Math.min(a, b), max: Math.max(a, b), sum: a + b, first: a, last: b, count: 2 }];
    }),
  );
}

interface ScenarioResult {
  seriesPerSecond: number;
  firstSeconds: number;
  rows: number;
}

async function scenario(kind: 'flat' | 'blob'): Promise<ScenarioResult> {
  const keyspace = `bench_${kind}_${Date.now().toString(36)}`;
  const options = storeOptions(keyspace);
  const metrics = new MetricsRegistry();
  const store =
    kind === 'flat'
      ? await CassandraStore.open(options, pool, storeDeps(metrics))
      : await CassandraBlobStore.open(
          options,
          {
            ...DEFAULT_BLOB_OPTIONS,
            schemas: ['blob', 'blob', 'blob'],
            chunkSpans: [SPAN, 3600, 36_000],
            persistIntervalMs: 3_600_000,
          },
          pool,
          storeDeps(metrics),
        );
  // Aligned to the chunk span: window 0 opens every chunk, windows 6 and 12 close them.
  const start = Math.floor(nowSeconds() / SPAN) * SPAN - SPAN * 3;
  const { seconds, firstSeconds, rows } = await timeFlushes(
    store,
    metrics,
    keyspace,
    WINDOWS,
    (w) => batchAt(start + w * 10, w),
    `${kind}: `,
  );
  return { seriesPerSecond: (SERIES * WINDOWS) / seconds, firstSeconds, rows };
}

export default async function run(): Promise<BenchRow[]> {
  if (!(await reachable())) return skippedRows();
  const flat = await scenario('flat');
  const blob = await scenario('blob');
  const note = (r: ScenarioResult): string =>
    `${SERIES} series × ${WINDOWS} windows, 2 workers; ${r.rows} rows; first window ${r.firstSeconds.toFixed(2)} s`;
  return [
    {
      name: 'cassandra flat: series written (steady windows)',
      value: flat.seriesPerSecond,
      unit: 'series/s',
      note: note(flat),
    },
    {
      name: 'cassandra blob: series written (steady windows, 60 s chunks)',
      value: blob.seriesPerSecond,
      unit: 'series/s',
      note: note(blob),
    },
    { name: 'cassandra blob ÷ flat write throughput', value: blob.seriesPerSecond / flat.seriesPerSecond, unit: '×' },
  ];
}
