/**
 * carillon with the `redis` writer, end to end (scenario.ts): known Graphite and StatsD traffic in under CPU
 * contention, and back from the real Redis with Redis commands: the stream of every series and resolution holds
 * every window exactly once, and the latest hash the newest window, exactly.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { redisUrl, uniqueName } from '../harness/servers.js';
import { readLatest, readStreams } from './redis-read.js';
import {
  checkCounters,
  checkRecords,
  runScenario,
  type Expected,
  type ReadRecord,
  type ScenarioRun,
  STATSD_STATPOINTS,
} from './scenario.js';

describe('redis writer end to end', () => {
  const prefix = `${uniqueName('rk')}:`;
  let redis: Redis;
  let run: ScenarioRun;

  beforeAll(async () => {
    const url = await redisUrl();
    redis = new Redis(url);
    run = await runScenario({
      bulk: 100,
      settle: true,
      writersToml: [
        '[[writers]]',
        'type = "redis"',
        `url = "${url}"`,
        `key_prefix = "${prefix}"`,
        'stream_max_len = 1000',
        'flush_interval = "100ms"',
      ].join('\n'),
    });
  }, 120_000);

  afterAll(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis?.disconnect();
  });

  it('stores every window in the streams, exactly', async () => {
    expect(run.exitCode, run.output).toBe(0);
    checkRecords(await readStreams(redis, prefix), run);
    checkCounters(run.metricsBeforeStop, 'redis', run.expected.length + STATSD_STATPOINTS);
  });

  it('keeps the newest window of each series and resolution in its hash, exactly', async () => {
    const newest = new Map<string, Expected>();
    for (const e of run.expected) {
      const key = `${e.step}|${e.name}`;
      if ((newest.get(key)?.time ?? -1) < e.time) newest.set(key, e);
    }
    const latest = new Map(
      (await readLatest(redis, prefix)).filter((r) => r.name.startsWith('wt.')).map((r) => [`${r.step}|${r.name}`, r]),
    );
    const fields = (p: Omit<ReadRecord, 'name' | 'step'>): Record<string, number | undefined> => {
      const { time, sum, min, max, first, last, count } = p;
      return { time, sum, min, max, first, last, count };
    };
    const got = [...latest].map(([key, r]) => [key, fields(r)] as const);
    expect(new Map(got)).toEqual(new Map([...newest].map(([key, e]) => [key, fields(e)] as const)));
  });
});
