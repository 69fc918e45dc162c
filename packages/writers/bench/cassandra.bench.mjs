// Cassandra write pool throughput against a local Cassandra (CASSANDRA_CONTACT_POINTS, default 127.0.0.1:9042;
// CASSANDRA_LOCAL_DC, default datacenter1): flat rows per second written by the pool with 1 and 2 worker threads,
// and from that the series one 10 s flush can carry. Each scenario writes into its own keyspace, dropped after.
import { performance } from 'node:perf_hooks';
import cassandra from 'cassandra-driver';
import { makeBatch, MetricsRegistry, nowSeconds, parseResolutions, windowStart } from '@carillon/core';
import { CassandraStore, DEFAULT_CASSANDRA_OPTIONS } from '@carillon/writers';

const SERIES = 20_000;
const WINDOWS = 5;
const resolutions = parseResolutions(['10s:168h', '1m:720h', '10m:21600h']);
const names = Array.from({ length: SERIES }, (_, i) => `bench.host${i % 200}.metric${Math.floor(i / 200)}.value`);
const contactPoints = (process.env.CASSANDRA_CONTACT_POINTS ?? '127.0.0.1:9042').split(',');
const localDataCenter = process.env.CASSANDRA_LOCAL_DC ?? 'datacenter1';

function batchAt(time) {
  return makeBatch(
    resolutions[0],
    time,
    names.map((name, i) => [name, { time, min: i, max: i + 2, sum: 3 * i + 3, first: i, last: i + 2, count: 3 }]),
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

async function scenario(workers) {
  const keyspace = `bench_${Date.now().toString(36)}_${workers}`;
  const options = { ...DEFAULT_CASSANDRA_OPTIONS, contactPoints, localDataCenter, keyspace, resolutions };
  const metrics = new MetricsRegistry();
  const store = await CassandraStore.open(
    options,
    {
      workers,
      highWaterPoints: 1e9,
      maxQueuePoints: 1e9,
      statsIntervalMs: 200,
      restartDelayMs: 1000,
      closeTimeoutMs: 60_000,
    },
    { metrics, aggregationRules: [], finder: { compilePathGlob: () => [], tooLarge: (m) => new Error(m) } },
  );
  const start = windowStart(nowSeconds(), 10) - 10 * (WINDOWS + 2);
  try {
    // The first window also writes every index row and prepares the statements: timed apart.
    let t = performance.now();
    await store.write(batchAt(start));
    const firstSeconds = (performance.now() - t) / 1000;
    t = performance.now();
    for (let w = 1; w <= WINDOWS; w++) await store.write(batchAt(start + w * 10));
    const seconds = (performance.now() - t) / 1000;
    await new Promise((resolve) => setTimeout(resolve, 400));
    const failed = metrics.value('write_pool_rows_failed_total', 'cassandra');
    if (failed > 0) throw new Error(`${failed} rows failed`);
    return { rowsPerSecond: (SERIES * WINDOWS) / seconds, firstSeconds };
  } finally {
    await store.close();
    const admin = new cassandra.Client({ contactPoints, localDataCenter });
    await admin.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`).catch(() => undefined);
    await admin.shutdown();
  }
}

export default async function run() {
  if (!(await reachable())) {
    // Loud, not silent, and without stopping the other benchmarks of the run.
    return [
      {
        name: `SKIPPED: no Cassandra answers at ${contactPoints.join(',')}`,
        value: 0,
        unit: '',
        note: 'set CASSANDRA_CONTACT_POINTS to a running Cassandra (test/servers/prepare.sh fetches one)',
      },
    ];
  }
  const rows = [];
  for (const workers of [1, 2]) {
    const { rowsPerSecond, firstSeconds } = await scenario(workers);
    rows.push({
      name: `cassandra flat rows written, ${workers} worker${workers > 1 ? 's' : ''}`,
      value: rowsPerSecond,
      unit: 'rows/s',
      note: `${SERIES} series × ${WINDOWS} windows; first window with index rows ${firstSeconds.toFixed(2)} s`,
    });
    // Each 10 s flush writes one 10s row per series, plus a 1m row every 6th and a 10m row every 60th flush.
    rows.push({
      name: `series per 10 s flush sustained, ${workers} worker${workers > 1 ? 's' : ''}`,
      value: (rowsPerSecond * 10) / (1 + 1 / 6 + 1 / 60),
      unit: 'series',
      note: 'rows/s × 10 s ÷ 1.183 rows per series per flush (10s:168h, 1m:720h, 10m:21600h)',
    });
  }
  return rows;
}
