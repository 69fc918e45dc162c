/**
 * The harness's own Cassandra process stopped (SIGSTOP) under traffic and started again (SIGCONT): while it is
 * stopped it accepts nothing and answers nothing, so every statement times out, the pool backs up and reports itself
 * overloaded; once it runs again the retries go through and every window written is in the flat table, no row lost.
 * The stop is kept short (about 2.4 s, over twice the read timeout) because other test files of the run share this
 * server: they see a pause, not an outage.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type cassandra from 'cassandra-driver';
import { makeBatch, MetricsRegistry, parseResolutions, seriesId, statPointOf, windowStart } from '@carillon/core';
import { CassandraStore } from '@carillon/writers';
import { cassandra as cassandraServer, serverState, uniqueKeyspace } from '../harness/servers.js';
import { cassandraOptions, connectCql, finderDeps, testPoolOptions } from '../support/cassandra.js';

const SERIES = 200;
const WINDOWS = 11;

describe('Cassandra process stopped and started under traffic', () => {
  const resolutions = parseResolutions(['10s:1h', '1m:1d']);
  const registry = new MetricsRegistry();
  let store: CassandraStore;
  let cql: cassandra.Client;
  let pid: number;

  beforeAll(async () => {
    const server = await cassandraServer();
    const state = await serverState('cassandra');
    if (state?.source !== 'process' || state.pid === undefined)
      throw new Error(
        'this test stops the Cassandra process the harness started itself; with CASSANDRA_CONTACT_POINTS or a ' +
          'container there is no process of ours to stop: unset CASSANDRA_CONTACT_POINTS (and CARILLON_TEST_CONTAINERS=0)',
      );
    pid = state.pid;
    const keyspace = uniqueKeyspace('stopped');
    store = await CassandraStore.open(
      cassandraOptions(server, keyspace, {
        resolutions,
        readTimeoutMs: 1_000,
        connectTimeoutMs: 1_000,
        retry: { maxRetries: 10_000, baseDelayMs: 50, maxDelayMs: 300 },
      }),
      testPoolOptions({ highWaterPoints: SERIES, maxQueuePoints: 1_000_000, closeTimeoutMs: 20_000 }),
      { metrics: registry, aggregationRules: [], finder: finderDeps },
    );
    cql = await connectCql(server, keyspace);
  });

  afterAll(async () => {
    if (pid) process.kill(pid, 'SIGCONT');
    await store?.close();
    await cql?.shutdown();
  });

  it('times out, backs up, then writes every window once the process runs again', async () => {
    const names = Array.from({ length: SERIES }, (_, i) => `stopped.host${i % 20}.m${i}`);
    const t0 = windowStart(Math.floor(Date.now() / 1000), 60) - 1800;
    const writes: Promise<unknown>[] = [];
    const writeWindow = (w: number): void => {
      const time = t0 + w * 10;
      writes.push(
        store.write(
          makeBatch(
            resolutions[0]!,
            time,
            names.map((name, i) => [name, statPointOf(time, i + w)]),
          ),
        ),
      );
    };
    for (let w = 0; w < 3; w++) writeWindow(w);
    await Promise.all(writes);

    let overloadedSeen = false;
    process.kill(pid, 'SIGSTOP');
    try {
      for (let w = 3; w < WINDOWS; w++) {
        writeWindow(w);
        await new Promise((resolve) => setTimeout(resolve, 300));
        overloadedSeen ||= store.overloaded();
      }
      expect(overloadedSeen).toBe(true);
      expect(store.pool.queuedPoints()).toBeGreaterThan(0);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    await Promise.all(writes);
    expect(store.overloaded()).toBe(false);

    const counts = await cql.execute('SELECT COUNT(*) AS n FROM flat_10s');
    expect(Number(counts.rows[0]!.get('n'))).toBe(SERIES * WINDOWS);
    const one = await cql.execute('SELECT time, sum FROM flat_10s WHERE id = ?', [seriesId(names[7]!, [])], {
      prepare: true,
    });
    expect(one.rows.map((r) => [((r.get('time') as Date).getTime() / 1000 - t0) / 10, r.get('sum')])).toEqual(
      Array.from({ length: WINDOWS }, (_, w) => [w, 7 + w]),
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(registry.value('write_pool_rows_failed_total', 'cassandra')).toBe(0);
    expect(registry.value('write_pool_rows_written_total', 'cassandra')).toBe(SERIES * WINDOWS);
    expect(registry.value('write_pool_retries_total', 'cassandra')).toBeGreaterThan(0);
  });
});
