import { describe, expect, it } from 'vitest';
import { MetricsRegistry, batchPoint, parseResolutions } from '@carillon/core';
import { Aggregator, DEFAULT_STATSD_OPTIONS } from '@carillon/aggregator';
import { Placement, RingSchedule, murmur3String } from '@carillon/ring';
import { ConfigSource } from '@carillon/core';
import { LineIngest, RingOwnership, readAccumulatorConfig } from '@carillon/accumulator';
import { RecordingSink } from '../../../test/support/recording.js';

function setup(nowSeconds: number, restartWatermark?: number) {
  const registry = new MetricsRegistry();
  const sink = new RecordingSink();
  const clock = { now: () => nowSeconds * 1000 };
  const aggregator = new Aggregator(
    {
      resolutions: parseResolutions(['1s:1h', '5s:1d']),
      graceSeconds: 2,
      maxFutureSeconds: 60,
      maxPendingPoints: 1000,
      maxStatsdIntervalValues: 1000,
    },
    DEFAULT_STATSD_OPTIONS,
    { sink, metrics: registry, clock },
  );
  // Version 2 (from 1005) moves every key to b: until then a owns what the 2-member ring gives it.
  const schedule = new RingSchedule([
    {
      version: 1,
      effectiveFrom: 0,
      members: [
        { id: 'a', address: 'a:1' },
        { id: 'b', address: 'b:1' },
      ],
    },
    { version: 2, effectiveFrom: 1005, members: [{ id: 'b', address: 'b:1' }] },
  ]);
  const ownership = new RingOwnership('a', new Placement({ schedule: () => schedule }));
  const ingest = new LineIngest(aggregator, registry, {
    ownership,
    restartWatermark,
    refuseBeforeRestart: true,
    nowSeconds: () => nowSeconds,
  });
  return { registry, sink, aggregator, ingest, schedule };
}

describe('relay batches into the node', () => {
  it('aggregates owned points, drops and counts misrouted ones by their window, and reports the latest window end', () => {
    const { registry, sink, aggregator, ingest, schedule } = setup(1003);
    const keys = Array.from({ length: 40 }, (_, i) => `k.${i}`);
    const ownedByA = keys.filter((k) => schedule.ownerFor(murmur3String(k), 1000)?.id === 'a');
    expect(ownedByA.length).toBeGreaterThan(5);
    expect(ownedByA.length).toBeLessThan(35);
    const lines = keys.map((k) => `${k} 1 1001\n${k} 2 1002\r\n${k} 5 1006\n`).join('') + 'bad line here x\n\n';
    const outcome = ingest.ingestBatch('graphite', Buffer.from(lines), 1003);
    expect(outcome).toEqual({
      accepted: 120,
      rejected: 1,
      misrouted: 40 + 2 * (40 - ownedByA.length),
      windowEnd: 1003,
      // What the ack carries back to the relay: the bad line, and every misrouted point.
      refused: new Map([
        ['malformed_line', 1],
        ['misrouted', 40 + 2 * (40 - ownedByA.length)],
      ]),
    });
    expect(registry.value('accumulator_misrouted_points_total', 'graphite')).toBe(outcome.misrouted);
    aggregator.tick(1010);
    const stored = sink.batches.filter((b) => b.resolution.step === 1).flatMap((b) => b.names);
    expect(new Set(stored)).toEqual(new Set(ownedByA));
    const fine1001 = sink.batches.find((b) => b.resolution.step === 1 && b.time === 1001)!;
    expect(batchPoint(fine1001, 0).count).toBe(1);
  });

  it('uses the batch receive time for lines without a timestamp and as StatsD arrival time', () => {
    const { sink, aggregator, ingest, schedule } = setup(1004);
    const key = Array.from({ length: 50 }, (_, i) => `s.${i}`).find(
      (k) => schedule.ownerFor(murmur3String(k), 1002)?.id === 'a',
    )!;
    const outcome = ingest.ingestBatch('statsd', Buffer.from(`${key}:3|c\n${key}:4|c\n`), 1002);
    expect(outcome.windowEnd).toBe(1003);
    expect(ingest.ingestBatch('graphite', Buffer.from(`${key}.g 7\n`), 1002).windowEnd).toBe(
      schedule.ownerFor(murmur3String(`${key}.g`), 1002)?.id === 'a' ? 1003 : 0,
    );
    aggregator.tick(1010);
    const counts = sink.batches.find((b) => b.time === 1002 && b.names.includes(`stats_counts.${key}`))!;
    expect(batchPoint(counts, counts.names.indexOf(`stats_counts.${key}`)).sum).toBe(7);
  });

  it('a late point belongs to the owner of its window under the ring version then in force', () => {
    // Now 1010: version 2 (everything on b) is in force, but the window 1002 was a's under version 1.
    const a = setup(1010);
    const key = Array.from({ length: 50 }, (_, i) => `r.${i}`).find(
      (k) => a.schedule.ownerFor(murmur3String(k), 1002)?.id === 'a',
    )!;
    const outcome = a.ingest.ingestBatch('graphite', Buffer.from(`${key} 7 1002\n${key} 8 1010\n`), 1010);
    // a amends its window 1002 and refuses the point at 1010, which is b's.
    expect(outcome.refused).toEqual(new Map([['misrouted', 1]]));
    expect(a.registry.value('aggregator_amended_points_total')).toBe(1);
    a.aggregator.tick(1012);
    expect(a.sink.merged(1, 1002, key)).toMatchObject({ sum: 7, count: 1 });
  });

  it('without a log, refuses points before the restart watermark in batches received before the start', () => {
    const { registry, aggregator, ingest, schedule, sink } = setup(1004, 1003);
    aggregator.resumeAfter(1003);
    const key = Array.from({ length: 50 }, (_, i) => `r.${i}`).find(
      (k) => schedule.ownerFor(murmur3String(k), 1002)?.id === 'a',
    )!;
    // Received by the relay before this process started: may be a replay of stored points.
    const replayed = ingest.ingestBatch('graphite', Buffer.from(`${key} 1 1002\n${key} 1 1003\n`), 1003);
    expect(replayed.windowEnd).toBe(1004);
    expect(replayed.refused).toEqual(new Map([['late_after_restart', 1]]));
    expect(registry.value('accumulator_late_after_restart_points_total')).toBe(1);
    // Received after the start: new, so it amends the window flushed before the restart.
    const fresh = ingest.ingestBatch('graphite', Buffer.from(`${key} 5 1002\n`), 1004);
    expect(fresh.refused.size).toBe(0);
    expect(fresh.windowEnd).toBe(1004);
    aggregator.tick(1006);
    expect(sink.merged(1, 1002, key)).toMatchObject({ sum: 5, count: 1 });
    expect(sink.batches.find((b) => b.time === 1002)?.amend).toEqual({ heldFrom: 1003 });
  });
});

describe('accumulator config', () => {
  const read = (pairs: Record<string, string>) =>
    readAccumulatorConfig(new ConfigSource({}, {}, new Map(Object.entries(pairs))));

  it('needs a ring source and names the key', () => {
    expect(() => read({ 'member.id': 'a' })).toThrow(/ring\.redis_url/);
    expect(() => read({ 'member.id': 'a', accumulators: 'b=h:1' })).toThrow(/accumulators.*must include/);
    expect(() => read({ 'member.id': 'a', accumulators: 'a=h' })).toThrow(/accumulators\[0\]/);
    expect(() => read({ 'member.id': 'a', accumulators: 'a=h:1,a=h:2' })).toThrow(
      'config: accumulators[1]: duplicate accumulator id "a"',
    );
    expect(() => read({ 'member.id': 'a', 'ring.redis_url': 'redis://x', 'ring.heartbeat_ttl': '1s' })).toThrow(
      /ring\.heartbeat_ttl/,
    );
    expect(() => read({ 'member.id': 'a', 'ring.redis_url': 'redis://x', 'ring.typo': '1' })).toThrow(/ring\.typo/);
  });

  it('reads a static cluster with defaults', () => {
    const config = read({
      'member.id': 'a',
      'member.address': '127.0.0.1:7001',
      accumulators: 'a=127.0.0.1:7001,b=h:2',
    });
    expect(config.ring.staticMembers).toEqual([
      { id: 'a', address: '127.0.0.1:7001' },
      { id: 'b', address: 'h:2' },
    ]);
    expect(config.durability.watermarkFile).toMatch(/data\/flush-watermark\.json$/);
    expect(config.grpc.listen.port).toBe(7000);
  });
});
