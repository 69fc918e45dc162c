// Cassandra write pool throughput against a local Cassandra (CASSANDRA_CONTACT_POINTS, default 127.0.0.1:9042;
// CASSANDRA_LOCAL_DC, default datacenter1): flat rows per second written by the pool with 1 and 2 worker threads,
// and from that the series one 10 s flush can carry. Each scenario writes into its own keyspace, dropped after.
import { makeBatch, MetricsRegistry, nowSeconds, windowStart, type FlushBatch } from '@carillon/core';
import { CassandraStore } from '@carillon/writers';
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

const WINDOWS = 5;

function batchAt(time: number): FlushBatch {
  return makeBatch(
    finest,
    time,
    names.map((name, i) => [name, { time, min: i, max: i + 2, sum: 3 * i + 3, first: i, last: i + 2, count: 3 }]),
  );
}

async function scenario(workers: number): Promise<{ rowsPerSecond: number; firstSeconds: number }> {
  const keyspace = `bench_${Date.now().toString(36)}_${workers}`;
  const metrics = new MetricsRegistry();
  const store = await CassandraStore.open(storeOptions(keyspace), poolOptions(workers), storeDeps(metrics));
  const start = windowStart(nowSeconds(), 10) - 10 * (WINDOWS + 2);
  const { seconds, firstSeconds } = await timeFlushes(
    store,
    metrics,
    keyspace,
    WINDOWS,
    (w) => batchAt(start + w * 10),
    '',
  );
  return { rowsPerSecond: (SERIES * WINDOWS) / seconds, firstSeconds };
}

export default async function run(): Promise<BenchRow[]> {
  if (!(await reachable())) return skippedRows();
  const rows: BenchRow[] = [];
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
