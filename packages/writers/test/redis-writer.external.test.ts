/** The redis writer against a real Redis: exact values back, newer windows kept, streams, expiry, retries. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { makeBatch, MetricsRegistry, parseResolutions, type FlushBatch } from '@carillon/core';
import { latestKey, redisDelivery, streamKey, type Delivery, type RedisDeliveryOptions } from '@carillon/writers';
import { redisUrl, uniqueName } from '../../../test/harness/servers.js';
import { ownRedis, type OwnServer } from '../../../test/harness/own-servers.js';
import { pointOfSamples as point } from '../../../test/support/stat-points.js';

const [fine] = parseResolutions(['10s:1h', '1m:1d']);
const now = Math.floor(Date.now() / 1000 / 10) * 10;

function options(url: string, overrides: Partial<RedisDeliveryOptions> = {}): RedisDeliveryOptions {
  return {
    name: 'redis',
    url,
    keyPrefix: `${uniqueName('rw')}:`,
    streamMaxLen: 100,
    seriesPerCall: 2,
    writeTimeoutMs: 1_000,
    closeTimeoutMs: 1_000,
    backoff: { baseMs: 50, maxMs: 200 },
    ...overrides,
  };
}

/** A delivery with its own counters, and a write that delivers one batch. */
function open(o: RedisDeliveryOptions, metrics = new MetricsRegistry()) {
  const counter = (name: string) => metrics.counter(name, name, ['writer']).labels('redis');
  const delivery: Delivery = redisDelivery(o, {
    stale: counter('redis_writer_points_stale_total'),
    streamSkipped: counter('redis_writer_stream_skipped_total'),
  });
  return {
    write: (batch: FlushBatch) => delivery.deliver([batch], AbortSignal.timeout(5_000)),
    close: () => delivery.close(),
  };
}

describe('RedisWriter', () => {
  let url: string;
  let redis: Redis;
  beforeAll(async () => {
    url = await redisUrl();
    redis = new Redis(url);
  });
  afterAll(() => redis?.disconnect());

  it('stores the latest StatPoint per series exactly, never replaced by an older window', async () => {
    const metrics = new MetricsRegistry();
    const o = options(url);
    const writer = open(o, metrics);
    const a = point(now, [0.1, 0.2, 1e300]);
    const b = point(now, [-3]);
    const c = point(now, [7, 8]);
    await writer.write(
      makeBatch(fine!, now, [
        ['a.b', a],
        ['c;k=v', b],
        ['d', c],
      ]),
    );
    const older = point(now - 10, [99]);
    await writer.write(makeBatch(fine!, now - 10, [['a.b', older]]));
    const hash = await redis.hgetall(latestKey(o, 10, 'a.b'));
    expect(Object.fromEntries(Object.entries(hash).map(([k, v]) => [k, Number(v)]))).toEqual({
      time: now,
      sum: a.sum,
      min: a.min,
      max: a.max,
      first: a.first,
      last: a.last,
      count: 3,
    });
    expect(await redis.hget(latestKey(o, 10, 'c;k=v'), 'last')).toBe('-3');
    const ttl = await redis.ttl(latestKey(o, 10, 'd'));
    expect(ttl).toBeGreaterThan(3_500);
    expect(ttl).toBeLessThanOrEqual(3_600);
    expect(metrics.value('redis_writer_points_stale_total', 'redis')).toBe(1);
    // The older window could not go at the stream's end either.
    expect(metrics.value('redis_writer_stream_skipped_total', 'redis')).toBe(1);
    const entries = await redis.xrange(streamKey(o, 10, 'a.b'), '-', '+');
    expect(entries).toEqual([
      [
        `${now * 1000}-0`,
        ['sum', String(a.sum), 'min', '0.1', 'max', '1e+300', 'first', '0.1', 'last', '1e+300', 'count', '3'],
      ],
    ]);
    // The newer window joins the stream; rewriting it changes nothing.
    const next = point(now + 10, [5]);
    await writer.write(makeBatch(fine!, now + 10, [['a.b', next]]));
    await writer.write(makeBatch(fine!, now + 10, [['a.b', next]]));
    expect((await redis.xrange(streamKey(o, 10, 'a.b'), '-', '+')).map(([id]) => id)).toEqual([
      `${now * 1000}-0`,
      `${(now + 10) * 1000}-0`,
    ]);
    expect(await redis.hget(latestKey(o, 10, 'a.b'), 'time')).toBe(String(now + 10));
    await writer.close();
  });

  it('caps streams and writes none when the cap is 0', async () => {
    const capped = options(url, { streamMaxLen: 1 });
    const none = options(url, { streamMaxLen: 0 });
    const metrics = new MetricsRegistry();
    const a = open(capped, metrics);
    const b = open(none, metrics);
    // XADD MAXLEN ~ trims whole macro nodes only; the exact cap shows with more entries than a node holds.
    for (let i = 0; i < 300; i++) {
      const batch = makeBatch(fine!, now + i * 10, [['s', point(now + i * 10, [i])]]);
      await a.write(batch);
      await b.write(batch);
    }
    expect(await redis.xlen(streamKey(capped, 10, 's'))).toBeLessThan(300);
    expect(await redis.exists(streamKey(none, 10, 's'))).toBe(0);
    expect(await redis.hget(latestKey(none, 10, 's'), 'last')).toBe('299');
    await Promise.all([a.close(), b.close()]);
  });

  describe('with a Redis that stops', () => {
    let server: OwnServer;
    beforeAll(async () => {
      server = await ownRedis();
    });
    afterAll(() => server?.close());

    it('fails a delivery at once while Redis is down, and delivers after it returns', { timeout: 60_000 }, async () => {
      const metrics = new MetricsRegistry();
      const o = options(`redis://127.0.0.1:${server.port}`);
      const writer = open(o, metrics);
      await server.stop();
      const batch = makeBatch(fine!, now, [
        ['x', point(now, [1])],
        ['y', point(now, [2])],
        ['z', point(now, [3])],
      ]);
      const started = Date.now();
      await expect(writer.write(batch)).rejects.toMatchObject({ name: 'WriterError', kind: 'connect' });
      expect(Date.now() - started).toBeLessThan(3_000);
      await server.launch();
      const deadline = Date.now() + 20_000;
      let written = false;
      while (!written && Date.now() < deadline) {
        await new Promise((done) => setTimeout(done, 100));
        written = await writer.write(batch).then(
          () => true,
          () => false,
        );
      }
      expect(written).toBe(true);
      const check = new Redis({ port: server.port });
      expect(await check.hget(latestKey(o, 10, 'z'), 'sum')).toBe('3');
      check.disconnect();
      await writer.close();
    });
  });
});
