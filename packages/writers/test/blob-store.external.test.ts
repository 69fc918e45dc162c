/**
 * The blob schema against a real Cassandra 5.0: the same traffic written as flat rows and as chunks reads back as
 * the same StatPoints — while chunks are open in the pool workers and after they are stored — across chunk spans;
 * a restarted store resumes a stored chunk instead of starting a new row; the chunk cache's byte bounds split and
 * evict chunks, counted, without losing a point; the chunk table has its TTL and TWCS.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type cassandra from 'cassandra-driver';
import {
  DEFAULT_AGGREGATION_RULES,
  makeBatch,
  MetricsRegistry,
  parseResolutions,
  seriesId,
  splitCanonical,
  type Resolution,
  type StatPoint,
} from '@carillon/core';
import { decodeChunk } from '@carillon/codec';
import {
  CassandraBlobStore,
  DEFAULT_BLOB_OPTIONS,
  type BlobStoreOptions,
  type CassandraOptions,
} from '@carillon/writers';
import { cassandra as cassandraServer, uniqueKeyspace } from '../../../test/harness/servers.js';
import { waitFor } from '../../../test/support/wait.js';
import {
  cassandraOptions,
  connectCql,
  expectTimeWindowTable,
  finderDeps,
  testPoolOptions,
} from '../../../test/support/cassandra.js';

const resolutions = parseResolutions(['10s:1h', '1m:1d']);
const names = [
  'blob.web1.cpu.user',
  'blob.web2.requests.count',
  'blob.web1.latency.max',
  'blob.web1.latency.min',
  'gauges.blob.queue',
  'blob.disk.used;dc=eu;host=a',
];
/** 6 windows per 10 s chunk, 10 per 1 m chunk: the traffic below crosses several spans. */
const SPANS = [60, 600];
const WINDOWS = 40;

/** A deterministic mix of single-value windows and full ones, with negative, fractional and large values. */
function pointAt(time: number, series: number, w: number): StatPoint {
  if ((series + w) % 3 === 0) {
    const v = series * 1000.5 - w * 0.25;
    return { time, min: v, max: v, sum: v, first: v, last: v, count: 1 };
  }
  const a = Math.sin(series * 7 + w) * 1e6;
  const b = a + series + w * 0.125;
  return { time, min: Math.min(a, b), max: Math.max(a, b), sum: a + b + 3, first: a, last: b, count: 3 + (w % 4) };
}

function blobOptions(overrides: Partial<BlobStoreOptions> = {}): BlobStoreOptions {
  return {
    ...DEFAULT_BLOB_OPTIONS,
    schemas: ['both', 'both'],
    chunkSpans: SPANS,
    persistIntervalMs: 200,
    statsIntervalMs: 50,
    ...overrides,
  };
}

async function openStore(options: CassandraOptions, blob: BlobStoreOptions, registry = new MetricsRegistry()) {
  return CassandraBlobStore.open(options, blob, testPoolOptions({ statsIntervalMs: 50 }), {
    metrics: registry,
    aggregationRules: DEFAULT_AGGREGATION_RULES,
    finder: finderDeps,
  });
}

async function writeTraffic(store: CassandraBlobStore, resolution: Resolution, base: number, from: number, to: number) {
  for (let w = from; w < to; w++) {
    const time = base + w * resolution.step;
    await store.write(
      makeBatch(
        resolution,
        time,
        names.map((name, s) => [name, pointAt(time, s, w)]),
      ),
    );
  }
}

async function expectSameThroughBoth(store: CassandraBlobStore, resolution: Resolution, from: number, until: number) {
  for (const name of names) {
    const flat = await store.flatReader.points(name, resolution, from, until);
    expect(flat.length).toBeGreaterThan(0);
    expect(await store.blobReader.points(name, resolution, from, until)).toEqual(flat);
    expect(await store.blobReader.fetch(name, resolution, from, until)).toEqual(
      await store.flatReader.fetch(name, resolution, from, until),
    );
  }
}

describe('cassandra blob store', () => {
  let options: CassandraOptions;
  let cql: cassandra.Client;
  // Aligned to the coarse span so the first window opens a chunk: every count below is exact.
  const base = Math.floor(Date.now() / 1000 / 600) * 600 - 3000;

  beforeAll(async () => {
    const server = await cassandraServer();
    options = cassandraOptions(server, uniqueKeyspace('blob'), {
      resolutions,
      retry: { maxRetries: 5, baseDelayMs: 50, maxDelayMs: 500 },
    });
    cql = await connectCql(server);
  });

  afterAll(async () => {
    await cql?.shutdown();
  });

  const chunkRows = async (keyspace: string, table: string, name: string) => {
    const { path, tags } = splitCanonical(name);
    const result = await cql.execute(
      `SELECT chunk_start, data, TTL(data) AS ttl FROM ${keyspace}.${table} WHERE id = ?`,
      [seriesId(path, tags)],
      { prepare: true },
    );
    return result.rows.map((row) => ({
      chunkStart: Number(row.get('chunk_start') as bigint),
      points: decodeChunk(row.get('data') as Buffer),
      ttl: row.get('ttl') as number,
    }));
  };

  it('reads the same StatPoints from chunks as from flat rows, open in the workers and then stored', async () => {
    const registry = new MetricsRegistry();
    // A persist interval longer than the test: what is read before close comes from the workers' open chunks.
    const store = await openStore(options, blobOptions({ persistIntervalMs: 600_000 }), registry);
    try {
      await writeTraffic(store, resolutions[0]!, base, 0, WINDOWS);
      await writeTraffic(store, resolutions[1]!, base, 0, 25);
      await store.pool.drain();
      await expectSameThroughBoth(store, resolutions[0]!, base - 30, base + WINDOWS * 10 + 30);
      await expectSameThroughBoth(store, resolutions[1]!, base - 60, base + 25 * 60);
      // Ranges starting and ending mid-chunk.
      await expectSameThroughBoth(store, resolutions[0]!, base + 95, base + 255);
      await waitFor(
        'chunk cache counters',
        () => registry.value('blob_points_appended_total') === names.length * (WINDOWS + 25),
      );
      // 40 windows of 10 s in 60 s spans: 6 spans closed, the 7th open; 25 of 1 m in 600 s spans: 2 closed.
      expect(registry.value('blob_chunks_closed_total')).toBe(names.length * (6 + 2));
      registry.render(); // gauges collect on render
      expect(registry.value('blob_open_chunks')).toBe(names.length * 2);
    } finally {
      await store.close();
    }
    const rows = await chunkRows(options.keyspace, 'chunk_10s', names[0]!);
    expect(rows.map((row) => row.chunkStart)).toEqual([0, 1, 2, 3, 4, 5, 6].map((i) => base + i * 60));
    expect(rows.map((row) => row.points.length)).toEqual([6, 6, 6, 6, 6, 6, 4]);
    for (const row of rows) expect(row.ttl).toBeGreaterThan(3500);
    const reopened = await openStore(options, blobOptions());
    try {
      await expectSameThroughBoth(reopened, resolutions[0]!, base - 30, base + WINDOWS * 10 + 30);
      await expectSameThroughBoth(reopened, resolutions[1]!, base - 60, base + 25 * 60);
    } finally {
      await reopened.close();
    }
    await expectTimeWindowTable(cql, options.keyspace, 'chunk_10s', 3600);
  });

  it('persists open chunks on the interval, and a new store resumes the stored chunk in the same row', async () => {
    const keyspace = uniqueKeyspace('blobresume');
    const opts = { ...options, keyspace };
    const registry = new MetricsRegistry();
    const first = await openStore(opts, blobOptions({ chunkSpans: [600, 600] }), registry);
    const resolution = resolutions[0]!;
    await writeTraffic(first, resolution, base, 0, 20);
    await first.pool.drain();
    // A persist may run while the windows are still being appended (the interval is 200 ms), storing a prefix that
    // the next persist overwrites: wait for a persist that holds all 20 points of every series, not for the first.
    const storedLengths = async () =>
      Promise.all(
        names.map(async (name) => (await chunkRows(keyspace, 'chunk_10s', name)).map((r) => r.points.length)),
      );
    await waitFor('a persist of all 20 points of every open chunk', async () =>
      (await storedLengths()).every((lengths) => lengths.length === 1 && lengths[0] === 20),
    );
    expect(await storedLengths()).toEqual(names.map(() => [20]));
    // The workers report their counters every statsIntervalMs: the count follows the rows, a report later.
    await waitFor('the persists counted', () => registry.value('blob_chunks_persisted_total') >= names.length);
    await first.close();

    const registry2 = new MetricsRegistry();
    const second = await openStore(opts, blobOptions({ chunkSpans: [600, 600] }), registry2);
    try {
      // Window 19 again (a replay of what is stored) and 20..39: the replay is rejected, the rest appended.
      await writeTraffic(second, resolution, base, 19, 40);
      await second.pool.drain();
      await waitFor('counters', () => registry2.value('blob_points_appended_total') === names.length * 20);
      expect(registry2.value('blob_chunks_resumed_total')).toBe(names.length);
      expect(registry2.value('blob_points_rejected_total')).toBe(names.length);
      expect(registry2.value('blob_chunk_lookups_total')).toBe(names.length);
      const points = await second.blobReader.points(names[1]!, resolution, base, base + 400);
      expect(points.map((p) => p.time)).toEqual(Array.from({ length: 40 }, (_, w) => base + w * 10));
      expect(points).toEqual(Array.from({ length: 40 }, (_, w) => pointAt(base + w * 10, 1, w)));
    } finally {
      await second.close();
    }
    const rows = await chunkRows(keyspace, 'chunk_10s', names[1]!);
    expect(rows.map((r) => [r.chunkStart, r.points.length])).toEqual([[base, 40]]);
  });

  it('splits chunks at the byte bound and evicts past the cache bound, counted, losing no point', async () => {
    const keyspace = uniqueKeyspace('blobbound');
    const opts = { ...options, keyspace };
    const registry = new MetricsRegistry();
    const store = await openStore(
      opts,
      blobOptions({ chunkSpans: [600, 600], maxChunkBytes: 120, maxCacheBytes: 600, persistIntervalMs: 600_000 }),
      registry,
    );
    const resolution = resolutions[0]!;
    try {
      await writeTraffic(store, resolution, base, 0, 50);
      await store.pool.drain();
      await expectSameThroughBoth(store, resolution, base, base + 500);
      await waitFor('counters', () => registry.value('blob_points_appended_total') === names.length * 50);
      expect(registry.value('blob_chunks_split_total')).toBeGreaterThan(0);
      expect(registry.value('blob_chunks_evicted_total')).toBeGreaterThan(0);
      registry.render();
      expect(registry.value('blob_open_chunk_bytes')).toBeGreaterThan(0);
      expect(registry.value('blob_open_chunk_bytes')).toBeLessThanOrEqual(2 * 600);
      expect(registry.value('blob_chunk_writes_failed_total')).toBe(0);
    } finally {
      await store.close();
    }
    const rows = await chunkRows(keyspace, 'chunk_10s', names[1]!);
    expect(rows.length).toBeGreaterThan(1);
    expect(rows.flatMap((r) => r.points)).toEqual(Array.from({ length: 50 }, (_, w) => pointAt(base + w * 10, 1, w)));
    for (const row of rows) expect(row.chunkStart).toBe(row.points[0]!.time);
  });
});
