/**
 * The Cassandra store against a real Cassandra 5.0: schema with TTLs and TWCS, flat rows exactly as sent (read
 * back with CQL), the path/segment/tag index and its dedupe cache, reads through the reader and the finder, and a
 * second writer that cannot reach Cassandra not holding back the first.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type cassandra from 'cassandra-driver';
import { pino } from 'pino';
import {
  makeBatch,
  MetricsRegistry,
  parseResolutions,
  seriesId,
  splitCanonical,
  statPointOf,
  type StatPoint,
  type WriteOutcome,
} from '@carillon/core';
import { QueryError } from '@carillon/query';
import { CassandraStore, WritePool, type CassandraOptions } from '@carillon/writers';
import { cassandra as cassandraServer, uniqueKeyspace } from '../../../test/harness/servers.js';
import {
  cassandraOptions,
  connectCql,
  expectTimeWindowTable,
  finderDeps,
  testPoolOptions,
} from '../../../test/support/cassandra.js';
import { pointOfSamples as point } from '../../../test/support/stat-points.js';

const resolutions = parseResolutions(['10s:1h', '1m:1d']);

describe('cassandra store', () => {
  let options: CassandraOptions;
  let store: CassandraStore;
  let cql: cassandra.Client;
  const registry = new MetricsRegistry();
  const base = Math.floor(Date.now() / 1000 / 60) * 60 - 600;
  const names = ['servers.web1.cpu.user', 'servers.web2.cpu.user', 'servers.web1.mem', 'disk.used;dc=eu;host=a'];

  beforeAll(async () => {
    const server = await cassandraServer();
    options = cassandraOptions(server, uniqueKeyspace('writers'), {
      resolutions,
      retry: { maxRetries: 5, baseDelayMs: 50, maxDelayMs: 500 },
    });
    store = await CassandraStore.open(options, testPoolOptions(), {
      metrics: registry,
      aggregationRules: [],
      finder: finderDeps,
    });
    cql = await connectCql(server, options.keyspace);
  });

  afterAll(async () => {
    await store?.close();
    await cql?.shutdown();
  });

  const sent = new Map<string, StatPoint[]>();

  it('writes every series of a flush as one flat row per window, exactly, with the resolution TTL', async () => {
    for (let w = 0; w < 6; w++) {
      const time = base + w * 10;
      const entries: [string, StatPoint][] = names.map((name, i) => [name, point(time, [i + w, i * 2.5 - w, 0.1 * w])]);
      for (const [name, p] of entries) sent.set(name, [...(sent.get(name) ?? []), p]);
      await store.write(makeBatch(resolutions[0]!, time, entries));
    }
    for (const name of names) {
      const { path, tags } = splitCanonical(name);
      const rows = await cql.execute(
        'SELECT time, min, max, sum, first, last, count, TTL(min) AS ttl FROM flat_10s WHERE id = ?',
        [seriesId(path, tags)],
        { prepare: true },
      );
      expect(
        rows.rows.map((r) => ({
          time: (r.get('time') as Date).getTime() / 1000,
          min: r.get('min') as number,
          max: r.get('max') as number,
          sum: r.get('sum') as number,
          first: r.get('first') as number,
          last: r.get('last') as number,
          count: Number(r.get('count')),
        })),
      ).toEqual(sent.get(name));
      for (const r of rows.rows) {
        expect(r.get('ttl')).toBeGreaterThan(3500);
        expect(r.get('ttl')).toBeLessThanOrEqual(3600);
      }
    }
    await store.write(makeBatch(resolutions[1]!, base, [[names[0]!, point(base, [1, 2, 3, 4])]]));
    const coarse = await cql.execute('SELECT sum, count, TTL(sum) AS ttl FROM flat_60s');
    expect(coarse.rows.map((r) => [r.get('sum'), Number(r.get('count'))])).toEqual([[10, 4]]);
    expect(coarse.rows[0]!.get('ttl')).toBeGreaterThan(86_000);
    await expectTimeWindowTable(cql, options.keyspace, 'flat_10s', 3600);
  });

  it('reads values back by the aggregation rule, one slot per window', async () => {
    const values = await store.fetch('servers.web2.cpu.user', resolutions[0]!, base - 10, base + 70);
    const expected = sent.get('servers.web2.cpu.user')!.map((p) => p.sum / p.count);
    expect(values).toEqual([null, ...expected, null]);
  });

  it('indexes every prefix so globs expand level by level, and tags by value', async () => {
    expect(await store.finder.find('servers.*.cpu.user', 100)).toEqual([
      { path: 'servers.web1.cpu.user', name: 'user', leaf: true, branch: false },
      { path: 'servers.web2.cpu.user', name: 'user', leaf: true, branch: false },
    ]);
    expect(await store.finder.find('servers.web1.*', 100)).toEqual([
      { path: 'servers.web1.cpu', name: 'cpu', leaf: false, branch: true },
      { path: 'servers.web1.mem', name: 'mem', leaf: true, branch: false },
    ]);
    expect(await store.finder.find('*', 100)).toEqual([
      { path: 'servers', name: 'servers', leaf: false, branch: true },
    ]);
    // Several parents and a wildcard: the segment table names the candidates, each (parent, name) is one row.
    const before = { ...store.finder.reads };
    expect(await store.finder.find('servers.*.{cpu,mem}', 100)).toEqual([
      { path: 'servers.web1.cpu', name: 'cpu', leaf: false, branch: true },
      { path: 'servers.web1.mem', name: 'mem', leaf: true, branch: false },
      { path: 'servers.web2.cpu', name: 'cpu', leaf: false, branch: true },
    ]);
    expect(store.finder.reads.segment - before.segment).toBe(1);
    expect(store.finder.reads.row - before.row).toBe(1 + 2 * 2);
    expect(store.finder.reads.partition - before.partition).toBe(1);
    await expect(store.finder.find('servers.*.*', 1)).rejects.toThrow(QueryError);
    expect(await store.finder.has('servers.web1.mem')).toBe(true);
    expect(await store.finder.has('servers.web1')).toBe(false);
    const segments = await cql.execute('SELECT segment FROM segment WHERE pos = 2');
    expect(segments.rows.map((r) => r.get('segment'))).toEqual(['web1', 'web2']);
    const match = (tag: string, value: string) => ({
      tag,
      operator: '=',
      value,
      requiresValue: true,
      test: (v: string) => v === value,
    });
    expect(await store.finder.findTagged([match('host', 'a'), match('name', 'disk.used')], 10)).toEqual([
      'disk.used;dc=eu;host=a',
    ]);
    expect(await store.finder.findTagged([match('host', 'b')], 10)).toEqual([]);
    expect(await store.finder.tagNames()).toEqual(['dc', 'host', 'name']);
    expect(await store.finder.tagValues('dc')).toEqual([{ value: 'eu', count: 1 }]);
    expect(await store.finder.names(100)).toEqual([...names].sort());
  });

  it('does not rewrite a known path: the dedupe cache skips it', async () => {
    await new Promise((resolve) => setTimeout(resolve, 300));
    const indexRows = registry.value('write_pool_index_rows_written_total', 'cassandra');
    const hits = registry.value('write_pool_index_cache_hits_total', 'cassandra');
    expect(indexRows).toBeGreaterThan(0);
    await store.write(
      makeBatch(
        resolutions[0]!,
        base + 60,
        names.map((name) => [name, statPointOf(base + 60, 1)]),
      ),
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(registry.value('write_pool_index_rows_written_total', 'cassandra')).toBe(indexRows);
    expect(registry.value('write_pool_index_cache_hits_total', 'cassandra')).toBe(hits + names.length);
    expect(registry.value('write_pool_rows_written_total', 'cassandra')).toBe(6 * names.length + 1 + names.length);
    expect(registry.value('write_pool_rows_failed_total', 'cassandra')).toBe(0);
  });

  it('keeps writing through one writer while another cannot reach Cassandra', async () => {
    const metrics = new MetricsRegistry();
    const logLines: { msg: string; writer?: string }[] = [];
    const logger = pino(
      { level: 'info' },
      { write: (line: string) => logLines.push(JSON.parse(line) as { msg: string }) },
    );
    const dead: CassandraOptions = {
      ...options,
      contactPoints: ['127.0.0.1:1'],
      connectTimeoutMs: 200,
      retry: { maxRetries: 1000, baseDelayMs: 200, maxDelayMs: 200 },
    };
    const pool = new WritePool(
      {
        name: 'two',
        workers: 1,
        writers: [
          { kind: 'cassandra', name: 'dead', options: dead },
          { kind: 'cassandra', name: 'live', options },
        ],
        highWaterPoints: 5,
        maxQueuePoints: 20,
        statsIntervalMs: 50,
        restartDelayMs: 100,
        closeTimeoutMs: 1_000,
      },
      { metrics, logger },
    );
    try {
      const writes: Promise<WriteOutcome>[] = [];
      for (let w = 0; w < 10; w++)
        writes.push(
          pool.write(
            makeBatch(resolutions[0]!, base + 100 + w * 10, [[`iso.s${w}`, statPointOf(base + 100 + w * 10, w)]]),
          ),
        );
      // The live writer finishes; the dead one holds its queue, so the pool is not overloaded (not every writer is).
      await expect.poll(() => metrics.value('write_pool_rows_written_total', 'live'), { timeout: 10_000 }).toBe(10);
      expect(pool.queuedPoints(1)).toBe(0);
      expect(pool.overloaded()).toBe(false);
      // The dead writer's lane took its limit of points and dropped the rest, counted.
      await expect.poll(() => metrics.value('write_pool_points_dropped_total', 'dead'), { timeout: 5_000 }).toBe(0);
      expect(pool.queuedPoints(0)).toBe(10);
      for (let w = 10; w < 30; w++)
        writes.push(pool.write(makeBatch(resolutions[0]!, base + 100 + w * 10, [[`iso.s${w}`, statPointOf(base, w)]])));
      await expect.poll(() => metrics.value('write_pool_points_dropped_total', 'dead'), { timeout: 5_000 }).toBe(10);
      await expect.poll(() => metrics.value('write_pool_rows_written_total', 'live'), { timeout: 10_000 }).toBe(30);
      // One warning for the drop episode, one line when it is over: not one per shard.
      await expect
        .poll(() => logLines.filter((l) => l.msg.startsWith('write pool: writer')).map((l) => [l.writer, l.msg]))
        .toEqual([
          ['dead', 'write pool: writer queue full, shards dropped for this writer'],
          ['dead', 'write pool: writer no longer dropping shards'],
        ]);
      const rows = await cql.execute(
        'SELECT COUNT(*) AS n FROM flat_10s WHERE time >= ? ALLOW FILTERING',
        [new Date((base + 100) * 1000)],
        { prepare: true },
      );
      expect(Number(rows.rows[0]!.get('n'))).toBe(30);
      // Closing cannot wait for the dead writer: past the close timeout its 20 queued points are counted lost.
      await pool.close();
      expect(metrics.value('write_pool_points_lost_total')).toBe(20);
      // Nothing the dead writer did not store is acked: every one of its 30 series is handed back for a retry.
      const retried = (await Promise.all(writes)).flatMap((outcome) => outcome.retry?.names ?? []);
      expect(retried.sort()).toEqual(Array.from({ length: 30 }, (_, w) => `iso.s${w}`).sort());
    } finally {
      await pool.close();
    }
  });
});
