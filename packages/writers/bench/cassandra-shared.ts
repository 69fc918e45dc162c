// What the Cassandra benchmarks share (not a benchmark itself: run.ts runs only *.bench.ts): the local Cassandra
// (CASSANDRA_CONTACT_POINTS, default 127.0.0.1:9042; CASSANDRA_LOCAL_DC, default datacenter1), the series written,
// the check that it answers, the row reported when it does not, and the timing of a run of flushes.
import { performance } from 'node:perf_hooks';
import cassandra from 'cassandra-driver';
import { parseResolutions, type FlushBatch, type MetricsRegistry, type Resolution, type Writer } from '@carillon/core';
import {
  DEFAULT_CASSANDRA_OPTIONS,
  type CassandraOptions,
  type CassandraPoolOptions,
  type CassandraStoreDeps,
} from '@carillon/writers';
import type { BenchRow } from '../../../bench/row.ts';

export const SERIES = 20_000;
export const resolutions = parseResolutions(['10s:168h', '1m:720h', '10m:21600h']);
/** The resolution every bench batch is written at. */
export const finest: Resolution = resolutions[0]!; // parsed from the literal just above
export const names = Array.from(
  { length: SERIES },
  (_, i) => `bench.host${i % 200}.metric${Math.floor(i / 200)}.value`,
);
export const contactPoints = (process.env.CASSANDRA_CONTACT_POINTS ?? '127.0.0.1:9042').split(',');
const localDataCenter = process.env.CASSANDRA_LOCAL_DC ?? 'datacenter1';

/** Store options for `keyspace` on the local Cassandra. */
export function storeOptions(keyspace: string): CassandraOptions {
  return { ...DEFAULT_CASSANDRA_OPTIONS, contactPoints, localDataCenter, keyspace, resolutions };
}

/** Write pool options with `workers` threads and bounds high enough that nothing is held back or dropped. */
export function poolOptions(workers: number): CassandraPoolOptions {
  return {
    workers,
    highWaterPoints: 1e9,
    maxQueuePoints: 1e9,
    statsIntervalMs: 200,
    restartDelayMs: 1000,
    closeTimeoutMs: 60_000,
  };
}

/** A store's dependencies: no aggregation rules, a finder that is never used. */
export function storeDeps(metrics: MetricsRegistry): CassandraStoreDeps {
  return { metrics, aggregationRules: [], finder: { compilePathGlob: () => [], tooLarge: (m) => new Error(m) } };
}

export async function reachable(): Promise<boolean> {
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

/** Loud, not silent, and without stopping the other benchmarks of the run. */
export function skippedRows(): BenchRow[] {
  return [
    {
      name: `SKIPPED: no Cassandra answers at ${contactPoints.join(',')}`,
      value: 0,
      unit: '',
      note: 'set CASSANDRA_CONTACT_POINTS to a running Cassandra (test/servers/prepare.sh fetches one)',
    },
  ];
}

/**
 * Writes window 0 (timed apart: it also writes every index row and prepares the statements), then windows 1 to
 * `windows` (`batchOf(w)` each); throws if a row failed; closes the store and drops its keyspace.
 */
export async function timeFlushes(
  store: Writer,
  metrics: MetricsRegistry,
  keyspace: string,
  windows: number,
  batchOf: (w: number) => FlushBatch,
  label: string,
): Promise<{ firstSeconds: number; seconds: number; rows: number }> {
  try {
    let t = performance.now();
    await store.write(batchOf(0));
    const firstSeconds = (performance.now() - t) / 1000;
    t = performance.now();
    for (let w = 1; w <= windows; w++) await store.write(batchOf(w));
    const seconds = (performance.now() - t) / 1000;
    await new Promise((resolve) => setTimeout(resolve, 400));
    const failed = metrics.value('write_pool_rows_failed_total', 'cassandra');
    if (failed > 0) throw new Error(`${label}${failed} rows failed`);
    return { firstSeconds, seconds, rows: metrics.value('write_pool_rows_written_total', 'cassandra') };
  } finally {
    await store.close();
    const admin = new cassandra.Client({ contactPoints, localDataCenter });
    await admin.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`).catch(() => undefined);
    await admin.shutdown();
  }
}
