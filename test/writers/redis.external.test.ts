/**
 * carillon with the `redis` writer, end to end: known Graphite and StatsD traffic in, and back from the real Redis
 * with Redis commands: the latest hash of every series and resolution, and the stream of every window, exactly.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { redisUrl, uniqueName } from '../harness/servers.js';
import {
  metricValue,
  sendKnownTraffic,
  startCarillon,
  untilSettled,
  type Carillon,
  type Expected,
} from './carillon.js';

function asNumbers(fields: Record<string, string> | string[]): Record<string, number> {
  const entries = Array.isArray(fields)
    ? Array.from({ length: fields.length / 2 }, (_, i) => [fields[2 * i]!, fields[2 * i + 1]!] as const)
    : Object.entries(fields);
  return Object.fromEntries(entries.map(([k, v]) => [k, Number(v)]));
}

function fields(e: Expected, withTime: boolean): Record<string, number> {
  const { time, sum, min, max, first, last, count } = e.point;
  return { ...(withTime ? { time } : {}), sum, min, max, first, last, count };
}

describe('redis writer end to end', () => {
  const prefix = `${uniqueName('rk')}:`;
  let url: string;
  let redis: Redis;
  let carillon: Carillon;

  beforeAll(async () => {
    url = await redisUrl();
    redis = new Redis(url);
    carillon = await startCarillon(
      [
        '[[writers]]',
        'type = "redis"',
        `url = "${url}"`,
        `key_prefix = "${prefix}"`,
        'stream_max_len = 1000',
        'flush_interval = "100ms"',
      ].join('\n'),
    );
  });

  afterAll(async () => {
    await carillon?.stop();
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis?.disconnect();
  });

  it('stores every window in the streams and the newest in the hashes, exactly', { timeout: 60_000 }, async () => {
    const traffic = await sendKnownTraffic(carillon, uniqueName('e2e'));
    await untilSettled(traffic);
    // Streams: every window of every series and resolution.
    for (const expected of traffic.graphite) {
      const entries = await redis.xrange(`${prefix}stream:${expected.step}s:${expected.name}`, '-', '+');
      const entry = entries.find(([id]) => id === `${expected.point.time * 1000}-0`);
      expect(entry, `${expected.name} ${expected.step}s ${expected.point.time}`).toBeDefined();
      expect(asNumbers(entry![1])).toEqual(fields(expected, false));
    }
    // Hashes: the newest window of each series and resolution.
    const newest = new Map<string, Expected>();
    for (const e of traffic.graphite) {
      const key = `${e.step}s:${e.name}`;
      if ((newest.get(key)?.point.time ?? -1) < e.point.time) newest.set(key, e);
    }
    for (const [key, expected] of newest)
      expect(asNumbers(await redis.hgetall(`${prefix}latest:${key}`)), key).toEqual(fields(expected, true));
    // StatsD: one interval's counter and gauge, at both resolutions.
    for (const step of [2, 10]) {
      const counter = asNumbers(await redis.hgetall(`${prefix}latest:${step}s:${traffic.statsd.counter}`));
      expect(counter).toMatchObject({ sum: traffic.statsd.counterValue, count: 1 });
      const gauge = asNumbers(await redis.hgetall(`${prefix}latest:${step}s:${traffic.statsd.gauge}`));
      expect(gauge).toMatchObject({ last: traffic.statsd.gaugeValue });
      const stream = await redis.xrange(`${prefix}stream:${step}s:${traffic.statsd.counter}`, '-', '+');
      expect(stream.map(([, f]) => asNumbers(f).sum)).toEqual([traffic.statsd.counterValue]);
    }
    const metrics = await carillon.metrics();
    expect(metricValue(metrics, 'carillon_writer_errors_total', '{writer="redis",kind="connect"}')).toBe(0);
    expect(metricValue(metrics, 'carillon_writer_points_written_total', '{writer="redis"}')).toBeGreaterThanOrEqual(
      traffic.graphite.length + 4,
    );
  });
});
