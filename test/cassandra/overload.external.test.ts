/**
 * Overload against real Cassandra, driven tick by tick: the pool's Cassandra is stalled (through a proxy, so other
 * test files sharing the server are untouched), the first flush fills the pool past its high-water mark, later
 * flush ticks are skipped, past max_pending_points the oldest windows are dropped — all counted exactly — and once
 * Cassandra answers again every window that was not dropped is in the flat table.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type cassandra from 'cassandra-driver';
import { MetricsRegistry, parseResolutions, seriesId } from '@carillon/core';
import { Aggregator, DEFAULT_AGGREGATOR_OPTIONS, parseStatsdOptions } from '@carillon/aggregator';
import { CassandraStore } from '@carillon/writers';
import { DEFAULT_WRITER_SINK_OPTIONS, WriterSink } from '@carillon/accumulator';
import { cassandra as cassandraServer, uniqueKeyspace } from '../harness/servers.js';
import { cassandraOptions, connectCql, finderDeps, testPoolOptions } from '../support/cassandra.js';
import { TcpProxy } from './tcp-proxy.js';

const SERIES = 100;
const MAX_PENDING = 250;

describe('overload: skipped flushes and dropped windows', () => {
  const resolutions = parseResolutions(['10s:1h', '1m:1d']);
  const registry = new MetricsRegistry();
  let proxy: TcpProxy;
  let store: CassandraStore;
  let cql: cassandra.Client;
  let keyspace: string;

  beforeAll(async () => {
    const server = await cassandraServer();
    const [host, port] = server.contactPoints[0]!.split(':');
    proxy = await TcpProxy.start(host!, Number(port));
    keyspace = uniqueKeyspace('overload');
    store = await CassandraStore.open(
      cassandraOptions(server, keyspace, {
        contactPoints: [`127.0.0.1:${proxy.port}`],
        resolutions,
        readTimeoutMs: 1_000,
        connectTimeoutMs: 1_000,
        maxInFlight: 4,
        retry: { maxRetries: 1_000, baseDelayMs: 50, maxDelayMs: 300 },
      }),
      testPoolOptions({ workers: 1, highWaterPoints: 50 }),
      { metrics: registry, aggregationRules: [], finder: finderDeps },
    );
    cql = await connectCql(server, keyspace);
  });

  afterAll(async () => {
    proxy?.restore();
    await store?.close();
    await cql?.shutdown();
    await proxy?.close();
  });

  it('skips flushes while the pool is above its high-water mark, drops the oldest past the limit, loses nothing else', async () => {
    const t0 = Math.floor(Date.now() / 1000 / 60) * 60 - 3600 + 600;
    let nowMs = t0 * 1000;
    const sink = new WriterSink([store], { ...DEFAULT_WRITER_SINK_OPTIONS, maxInFlightPoints: 1_000_000 }, registry);
    const aggregator = new Aggregator(
      {
        ...DEFAULT_AGGREGATOR_OPTIONS,
        resolutions,
        graceSeconds: 1,
        maxFutureSeconds: 600,
        maxPendingPoints: MAX_PENDING,
      },
      parseStatsdOptions(undefined),
      { sink, metrics: registry, clock: { now: () => nowMs } },
    );
    const names = Array.from({ length: SERIES }, (_, i) => `load.host${i % 10}.metric${i}`);
    const fill = (w: number): void =>
      aggregator.addGraphiteBatch(names.map((name, i) => ({ name, value: i + w, timestamp: t0 + w * 10 + 3 })));
    const tickAfter = (w: number): void => {
      nowMs = (t0 + w * 10 + 10 + 1) * 1000;
      aggregator.tick(nowMs / 1000);
    };

    proxy.pause();
    fill(0);
    tickAfter(0); // window 0 goes to the pool and stalls there: 100 points > high water 50
    expect(store.overloaded()).toBe(true);
    const pendingSeen: number[] = [];
    for (let w = 1; w <= 4; w++) {
      fill(w);
      tickAfter(w);
      pendingSeen.push(registry.value('aggregator_pending_points'));
      expect(store.pool.queuedPoints()).toBe(SERIES);
    }
    // windows 1..4 held back; at 300 > 250 pending points the oldest went: windows 1 and 2
    expect(pendingSeen).toEqual([100, 200, 200, 200]);
    expect(registry.value('aggregator_flushes_skipped_total')).toBe(4);
    expect(registry.value('aggregator_windows_dropped_total')).toBe(2);
    expect(registry.value('aggregator_points_dropped_total')).toBe(200);

    // Stalled longer than the read timeout: the stuck statements time out and are retried with backoff.
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(store.pool.queuedPoints()).toBe(SERIES);
    proxy.restore();
    await expect.poll(() => store.pool.queuedPoints(), { timeout: 20_000, interval: 100 }).toBe(0);
    fill(5);
    tickAfter(5); // windows 3, 4, 5 and the minute holding 0..5 go out
    expect(registry.value('aggregator_flushes_skipped_total')).toBe(4);
    await sink.drain();

    const timesOf = async (name: string, table: string): Promise<number[]> => {
      const result = await cql.execute(`SELECT time FROM ${table} WHERE id = ?`, [seriesId(name, [])], {
        prepare: true,
      });
      return result.rows.map((row) => ((row.get('time') as Date).getTime() / 1000 - t0) / 10);
    };
    for (const name of names) expect(await timesOf(name, 'flat_10s')).toEqual([0, 3, 4, 5]);
    const minute = await cql.execute('SELECT id, count, sum FROM flat_60s');
    expect(minute.rows.length).toBe(SERIES);
    // The minute merged every window, the dropped ones included: nothing lost at the coarser resolution.
    for (const row of minute.rows) expect(Number(row.get('count'))).toBe(6);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(registry.value('write_pool_rows_failed_total', 'cassandra')).toBe(0);
    expect(registry.value('write_pool_rows_written_total', 'cassandra')).toBe(5 * SERIES);
    expect(registry.value('write_pool_retries_total', 'cassandra')).toBeGreaterThan(0);
  });
});
