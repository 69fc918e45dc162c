/** readRingConfig: the one reader of ring.*, ring.placement and the static member list for both programs. */
import { describe, expect, it } from 'vitest';
import { ConfigError, ConfigSource } from '@carillon/core';
import { parseStaticMembers, pruneVersions, readRingConfig, RingSchedule } from '@carillon/ring';

const read = (pairs: Record<string, string>) =>
  readRingConfig(new ConfigSource({}, {}, new Map(Object.entries(pairs))));

function errorOf(pairs: Record<string, string>): ConfigError {
  try {
    read(pairs);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('no ConfigError');
}

describe('readRingConfig', () => {
  it('keeps superseded versions at least the finest retention, so late points keep their window owner', () => {
    const source = (pairs: Record<string, string>) => new ConfigSource({}, {}, new Map(Object.entries(pairs)));
    const members = { accumulators: 'a=h1:7000' };
    expect(readRingConfig(source(members), 6 * 3600).retainSeconds).toBe(6 * 3600);
    expect(readRingConfig(source({ ...members, 'ring.retain': '12h' }), 6 * 3600).retainSeconds).toBe(12 * 3600);
    // The version in force 6 h ago survives pruning at that retention; an older one goes, and times before the
    // oldest kept version fall to it (past max_lateness: refused anyway, by every member alike).
    const v = (version: number, effectiveFrom: number) => ({ version, effectiveFrom, members: [] });
    const now = 100_000;
    const kept = pruneVersions([v(1, 0), v(2, now - 8 * 3600), v(3, now - 3600)], now, 6 * 3600);
    expect(kept.map((x) => x.version)).toEqual([2, 3]);
    expect(new RingSchedule(kept).versionAt(now - 6 * 3600)?.version).toBe(2);
    expect(new RingSchedule(kept).versionAt(now - 9 * 3600)?.version).toBe(2);
  });

  it('reads a static list with the defaults', () => {
    expect(read({ accumulators: 'a=h1:7000,b=h2:7000' })).toEqual({
      redisUrl: '',
      prefix: 'carillon',
      staticMembers: [
        { id: 'a', address: 'h1:7000' },
        { id: 'b', address: 'h2:7000' },
      ],
      placement: 'carillon',
      replicas: 1000,
      propagationDelaySeconds: 10,
      retainSeconds: 3600,
      heartbeatIntervalMs: 1000,
      heartbeatTtlMs: 5000,
      pollIntervalMs: 5000,
      timeoutMs: 2000,
    });
  });

  it('reads Redis membership and its timing', () => {
    const config = read({
      'ring.redis_url': 'redis://r:6379',
      'ring.heartbeat_interval': '250ms',
      'ring.timeout': '1500ms',
    });
    expect(config.redisUrl).toBe('redis://r:6379');
    expect(config.heartbeatIntervalMs).toBe(250);
    expect(config.timeoutMs).toBe(1500);
  });

  it('names the key of every bad value', () => {
    expect(errorOf({}).message).toBe('config: accumulators: list at least one "id=host:port", or set ring.redis_url');
    expect(errorOf({ accumulators: 'a=h:1', 'ring.redis_url': 'redis://x' }).key).toBe('accumulators');
    expect(errorOf({ accumulators: 'a=h:1,b=nohost' }).message).toBe(
      'config: accumulators[1]: "b=nohost" must be id=host:port',
    );
    expect(errorOf({ accumulators: 'a=h:1,a=h:2' }).message).toBe(
      'config: accumulators[1]: duplicate accumulator id "a"',
    );
    expect(errorOf({ 'ring.redis_url': 'redis://x', 'ring.placement': 'statsd-proxy' }).key).toBe('ring.placement');
    expect(errorOf({ 'ring.redis_url': 'redis://x', 'ring.heartbeat_ttl': '1s' }).message).toBe(
      'config: ring.heartbeat_ttl: must be longer than ring.heartbeat_interval, or members flap',
    );
    expect(errorOf({ accumulators: 'a=h:1', 'ring.replicas': '0' }).key).toBe('ring.replicas');
    expect(errorOf({ accumulators: 'a=h:1', 'ring.poll_interval': '0s' }).key).toBe('ring.poll_interval');
  });

  it('parses members with one parser', () => {
    expect(parseStaticMembers(['x=h:65535'])).toEqual([{ id: 'x', address: 'h:65535' }]);
    expect(() => parseStaticMembers(['x=h:0'])).toThrowError('config: accumulators[0]:');
    expect(() => parseStaticMembers(['x=a=b:1'])).toThrowError('config: accumulators[0]:');
  });
});
