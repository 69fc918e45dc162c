import { describe, expect, it } from 'vitest';
import { ConfigError } from '@carillon/core';
import { RedisMembership, StaticMembership, createMembership, type RingConfig } from '@carillon/ring';

const base: RingConfig = {
  redisUrl: '',
  redisUsername: '',
  redisPassword: '',
  redisTls: false,
  redisTlsCa: '',
  redisTlsCert: '',
  redisTlsKey: '',
  prefix: 'test',
  staticMembers: [
    { id: 'a', address: '127.0.0.1:7001' },
    { id: 'b', address: '127.0.0.1:7002' },
  ],
  placement: 'carillon',
  replicas: 20,
  propagationDelaySeconds: 2,
  retainSeconds: 60,
  heartbeatIntervalMs: 1000,
  heartbeatTtlMs: 5000,
  pollIntervalMs: 1000,
  timeoutMs: 500,
};

describe('createMembership', () => {
  it('builds the static list as one version with the configured replicas', () => {
    const membership = createMembership(base, { step: 5 });
    expect(membership).toBeInstanceOf(StaticMembership);
    expect(membership.schedule.versions.map((v) => v.members.map((m) => m.id))).toEqual([['a', 'b']]);
    expect(membership.schedule.latest!.ring.points.length).toBe(2 * 20);
  });

  it('builds Redis membership for a member and for a watcher, checking the timing and heartbeat', async () => {
    const redis = { ...base, redisUrl: 'redis://127.0.0.1:6379', staticMembers: [] };
    const watcher = createMembership(redis, { step: 5 });
    const member = createMembership(redis, { self: { id: 'a', address: '127.0.0.1:7001' }, step: 5 });
    expect(watcher).toBeInstanceOf(RedisMembership);
    expect(member).toBeInstanceOf(RedisMembership);
    await Promise.all([watcher.close(), member.close()]);
    expect(() => createMembership(redis, { step: 0 })).toThrowError(ConfigError);
    // A watcher never heartbeats, so only a member's heartbeat settings are checked.
    const flapping = { ...redis, heartbeatTtlMs: 500 };
    expect(() => createMembership(flapping, { self: { id: 'a', address: 'h:1' }, step: 5 })).toThrowError(
      'heartbeatTtl',
    );
    await createMembership(flapping, { step: 5 }).close();
  });
});
