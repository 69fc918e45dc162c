import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MetricsRegistry } from '@carillon/core';
import {
  RedisMembership,
  RingStore,
  StaticMembership,
  murmur3String,
  type RedisMembershipOptions,
  type RingMember,
  type RingSchedule,
} from '@carillon/ring';
import { redisUrl } from '../../../test/harness/servers.js';
import { waitFor } from '../../../test/support/wait.js';

const timing = { step: 10, propagationDelay: 5, retain: 600 };
const member = (i: number): RingMember => ({ id: `accumulator-${i}`, address: `10.0.0.${i}:7000` });

let url: string;
let admin: Redis;
const prefixes: string[] = [];
const running: RedisMembership[] = [];

beforeAll(async () => {
  url = await redisUrl();
  admin = new Redis(url, { connectTimeout: 2000, commandTimeout: 2000, maxRetriesPerRequest: 1 });
});

afterEach(async () => {
  await Promise.all(running.splice(0).map((m) => m.close()));
});

afterAll(async () => {
  for (const prefix of prefixes) {
    const keys = await admin.keys(`${prefix}:*`);
    if (keys.length > 0) await admin.del(...keys);
  }
  await admin.quit();
});

function freshPrefix(): string {
  const prefix = `carillon-test:ring:${randomUUID()}`;
  prefixes.push(prefix);
  return prefix;
}

function participant(prefix: string, options: Partial<RedisMembershipOptions> = {}): RedisMembership {
  const membership = new RedisMembership({
    redisUrl: url,
    prefix,
    timing,
    heartbeatIntervalMs: 100,
    heartbeatTtlMs: 400,
    pollIntervalMs: 150,
    ...options,
  });
  running.push(membership);
  return membership;
}

async function redisNow(): Promise<number> {
  return Number((await admin.time())[0]);
}

const latestIds = (schedule: RingSchedule): string[] => schedule.latest?.members.map((m) => m.id) ?? [];

// Boundaries a second apart, so a test can wait for a version to come into force.
const quickTiming = { step: 1, propagationDelay: 1, retain: 600 };

/** Waits until the relay's latest version is the one in force by Redis's clock. */
async function latestInForce(relay: RedisMembership): Promise<void> {
  await waitFor('the latest version in force', async () => (await redisNow()) >= relay.schedule.latest!.effectiveFrom);
}

describe('RedisMembership', () => {
  it('registers three accumulators and every relay sees a ring of three', async () => {
    const prefix = freshPrefix();
    const metrics = new MetricsRegistry();
    const relay = participant(prefix, { reconcile: false, metrics });
    await relay.start();
    for (const i of [0, 1, 2]) await participant(prefix, { self: member(i) }).start();

    await waitFor('3 members', () => latestIds(relay.schedule).length === 3);
    const latest = relay.schedule.latest!;
    expect(latestIds(relay.schedule)).toEqual(['accumulator-0', 'accumulator-1', 'accumulator-2']);
    expect(latest.effectiveFrom % timing.step).toBe(0);
    expect(relay.schedule.versionAt(latest.effectiveFrom)).toBe(latest);
    const owners = new Set<string | undefined>();
    for (let i = 0; i < 300; i++) owners.add(relay.schedule.ownerFor(murmur3String(`k${i}`), latest.effectiveFrom)?.id);
    expect([...owners].sort()).toEqual(['accumulator-0', 'accumulator-1', 'accumulator-2']);
    expect(metrics.value('ring_members')).toBe(3);
    expect(metrics.value('ring_versions_seen_total')).toBe(relay.schedule.versions.length);
  });

  it('adds a fourth at a future boundary while earlier windows keep the old ring', async () => {
    const prefix = freshPrefix();
    const relay = participant(prefix, { reconcile: false, timing: quickTiming });
    await relay.start();
    for (const i of [0, 1, 2]) await participant(prefix, { self: member(i), timing: quickTiming }).start();
    await waitFor('3 members', () => latestIds(relay.schedule).length === 3);
    await latestInForce(relay);
    const before = relay.schedule.latest!;

    const now = await redisNow();
    await participant(prefix, { self: member(3), timing: quickTiming }).start();
    await waitFor('accumulator-3 to join', () => latestIds(relay.schedule).includes('accumulator-3'));
    const added = relay.schedule.latest!;

    expect(added.version).toBe(before.version + 1);
    expect(added.effectiveFrom).toBeGreaterThan(now + quickTiming.propagationDelay);
    expect(relay.schedule.versionAt(now)?.version).toBe(before.version);
    expect(relay.schedule.versionAt(added.effectiveFrom - 1)?.version).toBe(before.version);
    let moved = 0;
    for (let i = 0; i < 2000; i++) {
      const hash = murmur3String(`servers.web${i}.cpu`);
      const old = relay.schedule.ownerFor(hash, added.effectiveFrom - 1)!;
      const next = relay.schedule.ownerFor(hash, added.effectiveFrom)!;
      expect(old.id).not.toBe('accumulator-3');
      if (next.id !== old.id) {
        expect(next.id).toBe('accumulator-3');
        moved++;
      }
    }
    expect(moved).toBeGreaterThan(0);
  });

  it('drops a member whose heartbeat stops at a later boundary, written by someone else', async () => {
    const prefix = freshPrefix();
    const relay = participant(prefix, { reconcile: false, timing: quickTiming });
    await relay.start();
    const members = [0, 1, 2].map((i) => participant(prefix, { self: member(i), timing: quickTiming }));
    for (const m of members) await m.start();
    await waitFor('3 members', () => latestIds(relay.schedule).length === 3);
    await latestInForce(relay);

    const now = await redisNow();
    await members[1]!.close(); // stops heartbeating without leaving: a crash, as far as the others can tell
    await waitFor('2 members', () => latestIds(relay.schedule).length === 2);
    const dropped = relay.schedule.latest!;
    expect(latestIds(relay.schedule)).toEqual(['accumulator-0', 'accumulator-2']);
    expect(dropped.effectiveFrom).toBeGreaterThan(now + quickTiming.propagationDelay);
    expect(relay.schedule.versionAt(dropped.effectiveFrom - 1)?.members.map((m) => m.id)).toContain('accumulator-1');
    // The expired id is forgotten, so it is not reconsidered on every poll.
    const state = await new RingStore(admin, prefix).readState();
    expect(state.expired).toEqual([]);
    expect(state.live.map((m) => m.id)).toEqual(['accumulator-0', 'accumulator-2']);
  });

  it('leaves on shutdown at once, and says from when it owns nothing', async () => {
    const prefix = freshPrefix();
    const relay = participant(prefix, { reconcile: false });
    await relay.start();
    const members = [0, 1, 2].map((i) => participant(prefix, { self: member(i) }));
    for (const m of members) await m.start();
    await waitFor('3 members', () => latestIds(relay.schedule).length === 3);

    const now = await redisNow();
    const leaving = await members[2]!.leave();
    expect(leaving?.members.map((m) => m.id)).toEqual(['accumulator-0', 'accumulator-1']);
    expect(leaving!.effectiveFrom).toBeGreaterThan(now);
    // Pub/sub tells the relay well before the heartbeat TTL could have.
    await waitFor('the leave version', () => relay.schedule.latest?.version === leaving!.version, 300);
  });

  it('comes back into the ring when its own key expired while it was still alive', async () => {
    const prefix = freshPrefix();
    const relay = participant(prefix, { pollIntervalMs: 60_000 });
    await relay.start();
    // Its first heartbeat is 1.5 s away: long enough to expire it and write the version without it first.
    const a = participant(prefix, { self: member(0), heartbeatIntervalMs: 1500, heartbeatTtlMs: 5000 });
    await a.start();
    await participant(prefix, { self: member(1), pollIntervalMs: 60_000 }).start();
    await waitFor('2 members', () => latestIds(relay.schedule).length === 2);
    const written = relay.schedule.latest!.version;

    await admin.del(`${prefix}:member:accumulator-0`);
    expect((await relay.reconcile())?.members.map((m) => m.id)).toEqual(['accumulator-1']);
    await waitFor('version written + 2', () => relay.schedule.latest?.version === written + 2);
    expect(latestIds(relay.schedule)).toEqual(['accumulator-0', 'accumulator-1']);
  });

  it('lets concurrent writers make each version exactly once', async () => {
    const prefix = freshPrefix();
    const store = new RingStore(admin, prefix);
    const v1 = { version: 1, effectiveFrom: 1000, members: [member(0)] };
    expect(await store.compareAndSet(0, v1)).toBe(true);

    // Two writers on their own connections that both read version 1 and want different version 2s: one wins.
    const other = new Redis(url, { connectTimeout: 2000, commandTimeout: 2000, maxRetriesPerRequest: 1 });
    const results = await Promise.all([
      store.compareAndSet(1, { version: 2, effectiveFrom: 1010, members: [member(0), member(1)] }),
      new RingStore(other, prefix).compareAndSet(1, {
        version: 2,
        effectiveFrom: 1020,
        members: [member(0), member(2)],
      }),
    ]).finally(() => other.quit());
    expect(results.filter(Boolean)).toHaveLength(1);
    const versions = await store.readVersions();
    expect(versions.map((v) => v.version)).toEqual([1, 2]);
    // The loser's stale expectation keeps failing; it must re-read and build on version 2.
    expect(await store.compareAndSet(1, { version: 2, effectiveFrom: 1030, members: [] })).toBe(false);
    expect(await store.compareAndSet(2, { version: 3, effectiveFrom: 1030, members: [] })).toBe(true);
  });

  it('has many participants agree on one new version when they all notice the same change', async () => {
    const prefix = freshPrefix();
    const metrics = new MetricsRegistry();
    const writers = Array.from({ length: 6 }, () => participant(prefix, { pollIntervalMs: 60_000, metrics }));
    await Promise.all(writers.map((w) => w.start()));
    const store = new RingStore(admin, prefix);
    await store.register(member(0), 10_000);
    await store.register(member(1), 10_000);

    const written = (await Promise.all(writers.map((w) => w.reconcile()))).filter((v) => v !== undefined);
    expect(written).toHaveLength(1);
    const versions = await store.readVersions();
    expect(versions).toHaveLength(1);
    expect(versions[0]!.members.map((m) => m.id)).toEqual(['accumulator-0', 'accumulator-1']);

    await store.register(member(2), 10_000);
    const second = (await Promise.all(writers.map((w) => w.reconcile()))).filter((v) => v !== undefined);
    expect(second).toHaveLength(1);
    expect((await store.readVersions()).map((v) => v.version)).toEqual([1, 2]);
    expect(metrics.value('ring_versions_written_total')).toBe(2);
  });

  it('refuses a heartbeat TTL no longer than the heartbeat interval', () => {
    expect(
      () => new RedisMembership({ redisUrl: url, prefix: 'x', timing, heartbeatIntervalMs: 500, heartbeatTtlMs: 500 }),
    ).toThrow(/heartbeatTtl/);
  });

  it('waits for Redis at start, not ready and counting each attempt, until closed', async () => {
    const metrics = new MetricsRegistry();
    const membership = participant(freshPrefix(), { redisUrl: 'redis://127.0.0.1:1', connectTimeoutMs: 300, metrics });
    const starting = membership.start();
    await waitFor('two failed attempts', () => metrics.value('ring_membership_errors_total', 'start') >= 2, 10_000);
    expect(membership.notReady()).toBe('waiting for Redis');
    await membership.close();
    await expect(starting).rejects.toThrow(/closed before/);
  });
});

describe('StaticMembership', () => {
  it('is one fixed version for all time', async () => {
    const membership = new StaticMembership([member(0), member(1)]);
    await membership.start();
    expect(membership.schedule.versions).toHaveLength(1);
    const hash = murmur3String('a.b.c');
    expect(membership.schedule.ownerFor(hash, 0)).toBe(membership.schedule.ownerFor(hash, 2e9));
    await membership.close();
  });
});
