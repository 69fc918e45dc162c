// Blob against flat write throughput in one run, against a local Cassandra (CASSANDRA_CONTACT_POINTS, default
// 127.0.0.1:9042; CASSANDRA_LOCAL_DC, default datacenter1): the same 20,000 series × 12 windows of 10 s written
// through the write pool (2 workers) as flat rows, then as chunks, each into its own keyspace (dropped after).
// Chunks span 60 s here so every series closes (writes) its chunk twice in the run: the same Cassandra writes per
// series as the default 1 h chunks persisted every 60 s. Prints a SKIPPED row, never a figure, without Cassandra.
import { performance } from 'node:perf_hooks';
import cassandra from 'cassandra-driver';
import { makeBatch, MetricsRegistry, nowSeconds, parseResolutions } from '@carillon/core';
import { CassandraBlobStore, CassandraStore, DEFAULT_BLOB_OPTIONS, DEFAULT_CASSANDRA_OPTIONS } from '@carillon/writers';

const SERIES = 20_000;
const WINDOWS = 12;
const SPAN = 60;
const resolutions = parseResolutions(['10s:168h', '1m:720h', '10m:21600h']);
const names = Array.from({ length: SERIES }, (_, i) => `bench.host${i % 200}.metric${Math.floor(i / 200)}.value`);
const contactPoints = (process.env.CASSANDRA_CONTACT_POINTS ?? '127.0.0.1:9042').split(',');
const localDataCenter = process.env.CASSANDRA_LOCAL_DC ?? 'datacenter1';
const pool = {
  workers: 2,
  highWaterPoints: 1e9,
  maxQueuePoints: 1e9,
  statsIntervalMs: 200,
  restartDelayMs: 1000,
  closeTimeoutMs: 60_000,
};
const deps = (metrics) => ({
  metrics,
  aggregationRules: [],
  finder: { compilePathGlob: () => [], tooLarge: (m) => new Error(m) },
});

/** A gauge-like series: slow drift with noise, a few values per window. */
function batchAt(time, w) {
  return makeBatch(
    resolutions[0],
    time,
    names.map((name, i) => {
      const base = 50 + 20 * Math.sin(i + w / 30);
      const a = Math.round((base + ((i * 7 + w * 13) % 10) / 10) * 100) / 100;
      const b = Math.round((base + ((i * 3 + w * 5) % 10) / 10) * 100) / 100;
      return [name, { time, min: Math.min(a, b), max: Math.max(a, b), sum: a + b, first: a, last: b, count: 2 }];
    }),
  );
}

async function reachable() {
  const client = new cassandra.Client({ contactPoints, localDataCenter, socketOptions: { connectTimeout: 3000 } });
  try {
    await client.connect();
    return true;
  } catch {
    return false;
  } finally {
    await client.shutdown().catch(() => undefined);
  }
}

async function scenario(kind) {
  const keyspace = `bench_${kind}_${Date.now().toString(36)}`;
  const options = { ...DEFAULT_CASSANDRA_OPTIONS, contactPoints, localDataCenter, keyspace, resolutions };
  const metrics = new MetricsRegistry();
  const store =
    kind === 'flat'
      ? await CassandraStore.open(options, pool, deps(metrics))
      : await CassandraBlobStore.open(
          options,
          {
            ...DEFAULT_BLOB_OPTIONS,
            schemas: ['blob', 'blob', 'blob'],
            chunkSpans: [SPAN, 3600, 36_000],
            persistIntervalMs: 3_600_000,
          },
          pool,
          deps(metrics),
        );
  // Aligned to the chunk span: window 0 opens every chunk, windows 6 and 12 close them.
  const start = Math.floor(nowSeconds() / SPAN) * SPAN - SPAN * 3;
  try {
    // The first window writes every index row, prepares statements (and for chunks looks up each series once).
    let t = performance.now();
    await store.write(batchAt(start, 0));
    const firstSeconds = (performance.now() - t) / 1000;
    t = performance.now();
    for (let w = 1; w <= WINDOWS; w++) await store.write(batchAt(start + w * 10, w));
    const seconds = (performance.now() - t) / 1000;
    await new Promise((resolve) => setTimeout(resolve, 400));
    const failed = metrics.value('write_pool_rows_failed_total', 'cassandra');
    if (failed > 0) throw new Error(`${kind}: ${failed} rows failed`);
    const rows = metrics.value('write_pool_rows_written_total', 'cassandra');
    return { seriesPerSecond: (SERIES * WINDOWS) / seconds, firstSeconds, rows };
  } finally {
    await store.close();
    const admin = new cassandra.Client({ contactPoints, localDataCenter });
    await admin.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`).catch(() => undefined);
    await admin.shutdown();
  }
}

export default async function run() {
  if (!(await reachable())) {
    return [
      {
        name: `SKIPPED: no Cassandra answers at ${contactPoints.join(',')}`,
        value: 0,
        unit: '',
        note: 'set CASSANDRA_CONTACT_POINTS to a running Cassandra (test/servers/prepare.sh fetches one)',
      },
    ];
  }
  const flat = await scenario('flat');
  const blob = await scenario('blob');
  const note = (r) =>
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
