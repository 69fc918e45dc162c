/**
 * The redis writer's fault test: its own redis-server is stopped for 60 s under steady traffic and started again.
 * Nothing is lost within the bounds (every window of every series reaches the streams, exactly), the outage is
 * counted, and a second redis writer (the shared Redis) goes on at its pace meanwhile.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { redisUrl, uniqueName } from '../harness/servers.js';
import { ownRedis, type OwnServer } from '../harness/own-servers.js';
import { startCarillon, type Carillon } from './carillon.js';
import { eventually, expectFaultCounted, runFault, type Window } from './fault.js';

async function missing(redis: Redis, keyPrefix: string, windows: Window[]): Promise<string[]> {
  const problems: string[] = [];
  const byStream = new Map<string, Map<string, Record<string, number>>>();
  for (const w of windows) {
    const key = `${keyPrefix}stream:${w.step}s:${w.name}`;
    let entries = byStream.get(key);
    if (!entries) {
      entries = new Map();
      for (const [id, fields] of await redis.xrange(key, '-', '+')) {
        const values: Record<string, number> = {};
        for (let i = 0; i < fields.length; i += 2) values[fields[i]!] = Number(fields[i + 1]);
        entries.set(id, values);
      }
      byStream.set(key, entries);
    }
    const { sum, min, max, first, last, count } = w.point;
    const got = entries.get(`${w.point.time * 1000}-0`);
    if (JSON.stringify(got) !== JSON.stringify({ sum, min, max, first, last, count }))
      problems.push(`${w.name} ${w.step}s ${w.point.time}: ${JSON.stringify(got)}`);
  }
  return problems;
}

describe('redis writer under a 60 s outage', () => {
  const faultyPrefix = `${uniqueName('fault')}:`;
  const healthyPrefix = `${uniqueName('healthy')}:`;
  let server: OwnServer;
  let sharedUrl: string;
  let carillon: Carillon;

  beforeAll(async () => {
    // Persistent: a Redis without it forgets at the stop what it held, which is not the writer's loss.
    server = await ownRedis({ persist: true });
    sharedUrl = await redisUrl();
    const entry = (name: string, url: string, prefix: string): string =>
      [
        '[[writers]]',
        'type = "redis"',
        `name = "${name}"`,
        `url = "${url}"`,
        `key_prefix = "${prefix}"`,
        'stream_max_len = 100000',
        'flush_interval = "100ms"',
        'write_timeout = "2s"',
        'retry_backoff_max = "2s"',
        // The bound this test stays within: retries enough to outlast the outage.
        'max_retries = 1000',
      ].join('\n');
    carillon = await startCarillon(
      [
        entry('faulty', `redis://127.0.0.1:${server.port}`, faultyPrefix),
        entry('healthy', sharedUrl, healthyPrefix),
      ].join('\n'),
    );
  });

  afterAll(async () => {
    await carillon?.stop();
    await server?.close();
    const shared = new Redis(sharedUrl);
    const keys = await shared.keys(`${healthyPrefix}*`);
    if (keys.length > 0) await shared.del(...keys);
    shared.disconnect();
  });

  it('loses nothing, counts the outage, and leaves the other writer alone', { timeout: 240_000 }, async () => {
    const run = await runFault({ carillon, server, prefix: uniqueName('f'), faulty: 'faulty', healthy: 'healthy' });
    expectFaultCounted(run);
    const faulty = new Redis({ port: server.port });
    const healthy = new Redis(sharedUrl);
    try {
      // The faulty writer may still be working through its backlog: give it a bounded while.
      expect(await eventually(() => missing(faulty, faultyPrefix, run.windows))).toEqual([]);
      expect(await eventually(() => missing(healthy, healthyPrefix, run.windows))).toEqual([]);
    } finally {
      faulty.disconnect();
      healthy.disconnect();
    }
  });
});
