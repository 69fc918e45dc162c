/**
 * Which relay lines the accumulator keeps, under both `ring.placement` modes: `carillon` (MurmurHash3 of the
 * canonical name on the versioned ring, for Graphite and StatsD) and `statsd-proxy` (StatsD lines where the
 * reference StatsD proxy's hashring puts their raw key; Graphite still on the carillon ring).
 */
import { describe, expect, it } from 'vitest';
import { ConfigSource, MetricsRegistry, parseResolutions, type FlushBatch } from '@carillon/core';
import { Aggregator, DEFAULT_STATSD_OPTIONS } from '@carillon/aggregator';
import { statsdCanonicalName } from '@carillon/protocols';
import { Placement, RingSchedule, StatsdProxyRing, murmur3String } from '@carillon/ring';
import { LineIngest, RingOwnership, readAccumulatorConfig } from '@carillon/accumulator';
import { RecordingSink } from '../../../test/support/recording.js';
import { proxyRing } from '../../../test/support/proxy-ring.js';

// Member ids are the proxy's node names (host:port), in its `nodes` order.
const NODES = ['statsd-a:8125', 'statsd-b:8125', 'statsd-c:8125'];
const SELF = 'statsd-b:8125';
const NOW = 1003;

const proxyPlacement = (schedule: () => RingSchedule): Placement =>
  new Placement({ schedule, statsd: 'statsd-proxy', statsdProxy: new StatsdProxyRing(NODES) });

function ingestFor(ownership: RingOwnership) {
  const registry = new MetricsRegistry();
  const sink = new RecordingSink();
  const aggregator = new Aggregator(
    {
      resolutions: parseResolutions(['1s:1h', '5s:1d']),
      graceSeconds: 2,
      maxFutureSeconds: 60,
      maxPendingPoints: 100_000,
      maxStatsdIntervalValues: 100_000,
    },
    DEFAULT_STATSD_OPTIONS,
    { sink, metrics: registry, clock: { now: () => NOW * 1000 } },
  );
  const ingest = new LineIngest(aggregator, registry, { ownership, nowSeconds: () => NOW });
  return { registry, sink, aggregator, ingest };
}

/** StatsD lines whose raw key differs from the canonical name: unsanitized, Graphite-tagged, DogStatsD-tagged. */
function statsdLines(): string[] {
  const lines: string[] = [];
  for (let i = 0; i < 300; i++) {
    if (i % 4 === 0) lines.push(`proxy.key${i}:${i}|c`);
    else if (i % 4 === 1) lines.push(`odd key/${i}:${i}|g`);
    else if (i % 4 === 2) lines.push(`tagged.k${i};env=prod:${i}|ms`);
    else lines.push(`dog.k${i}:1|c:2|c|#host:h${i % 5}`);
  }
  return lines;
}

const schedule = RingSchedule.fixed(NODES.map((id, i) => ({ id, address: `127.0.0.1:${7000 + i}` })));

describe('accumulator ownership', () => {
  it('statsd-proxy placement: keeps exactly the StatsD lines the reference proxy sends this member', () => {
    const ownership = new RingOwnership(
      SELF,
      proxyPlacement(() => schedule),
    );
    const { registry, sink, aggregator, ingest } = ingestFor(ownership);
    const lines = statsdLines();
    const reference = proxyRing(NODES);
    const mine = lines.filter((line) => reference.get(line.slice(0, line.indexOf(':'))) === SELF);
    const samplesOf = (line: string): number => (line.startsWith('dog.') ? 2 : 1);
    expect(mine.length).toBeGreaterThan(50);
    expect(mine.length).toBeLessThan(250);
    // The two rules disagree on many of these keys: the carillon ring would keep a different set.
    const byMurmur = lines.filter((line) => {
      const name = statsdCanonicalName(line);
      return typeof name !== 'string' && schedule.ownerFor(murmur3String(name.name), NOW)?.id === SELF;
    });
    expect(byMurmur.filter((line) => !mine.includes(line)).length).toBeGreaterThan(20);

    const outcome = ingest.ingestBatch('statsd', Buffer.from(lines.join('\n') + '\n'), NOW);
    const notMine = lines.filter((line) => !mine.includes(line));
    expect(outcome.accepted).toBe(lines.length);
    expect(outcome.misrouted).toBe(notMine.reduce((n, line) => n + samplesOf(line), 0));
    expect(registry.value('accumulator_misrouted_points_total', 'statsd')).toBe(outcome.misrouted);

    // Exactly what this member's lines alone produce, nothing of the others'.
    aggregator.tick(NOW + 5);
    const alone = ingestFor(
      new RingOwnership(
        SELF,
        proxyPlacement(() => schedule),
      ),
    );
    expect(alone.ingest.ingestBatch('statsd', Buffer.from(mine.join('\n')), NOW).misrouted).toBe(0);
    alone.aggregator.tick(NOW + 5);
    const namesAt = (batches: FlushBatch[]): string[] =>
      batches.filter((b) => b.time === NOW && b.resolution.step === 1).flatMap((b) => [...b.names].sort());
    expect(namesAt(sink.batches)).toEqual(namesAt(alone.sink.batches));
    expect(namesAt(sink.batches).length).toBeGreaterThan(mine.length);
    // StatsD state kept between flushes never changes owner under the static proxy list.
    expect(ownership.ownsStatsdKey('anything', NOW)).toBe(true);
  });

  it('statsd-proxy placement: Graphite lines still go by MurmurHash3 on the carillon ring', () => {
    const ownership = new RingOwnership(
      SELF,
      proxyPlacement(() => schedule),
    );
    const { ingest } = ingestFor(ownership);
    const keys = Array.from({ length: 200 }, (_, i) => `g.host${i}.cpu`);
    const notMine = keys.filter((k) => schedule.ownerFor(murmur3String(k), NOW)?.id !== SELF);
    const lines = keys.map((k) => `${k} 1 ${NOW}\n`).join('');
    expect(ingest.ingestBatch('graphite', Buffer.from(lines), NOW).misrouted).toBe(notMine.length);
    expect(notMine.length).toBeGreaterThan(100);
  });

  it('statsd-proxy placement: a member the ring version in force leaves out owns nothing (as the relay routes)', () => {
    const without = new RingSchedule([
      schedule.versions[0]!,
      { version: 2, effectiveFrom: 2000, members: schedule.versions[0]!.members.filter((m) => m.id !== SELF) },
    ]);
    const ownership = new RingOwnership(
      SELF,
      proxyPlacement(() => without),
    );
    const line = statsdLines().find((l) => new StatsdProxyRing(NODES).nodeOf(l.slice(0, l.indexOf(':'))) === 1)!;
    expect(ownership.ownsStatsd(line, 'unused', 1999)).toBe(true);
    expect(ownership.ownsStatsd(line, 'unused', 2000)).toBe(false);
  });

  it('carillon placement: StatsD samples by MurmurHash3 of their canonical name, kept state by window', () => {
    const moved = new RingSchedule([
      schedule.versions[0]!,
      { version: 2, effectiveFrom: 1010, members: [{ id: 'statsd-a:8125', address: '127.0.0.1:7000' }] },
    ]);
    const ownership = new RingOwnership(SELF, new Placement({ schedule: () => moved }));
    const { ingest } = ingestFor(ownership);
    const lines = statsdLines();
    let expectedMisrouted = 0;
    for (const line of lines) {
      const name = statsdCanonicalName(line);
      if (typeof name === 'string') throw new Error(`test line rejected: ${line}`);
      const owned = moved.ownerFor(murmur3String(name.name), NOW)?.id === SELF;
      expect(ownership.ownsStatsd(line, name.name, NOW)).toBe(owned);
      expect(ownership.ownsStatsdKey(name.name, NOW)).toBe(owned);
      // From version 2 on every key is statsd-a's.
      expect(ownership.ownsStatsdKey(name.name, 1010)).toBe(false);
      if (!owned) expectedMisrouted += line.startsWith('dog.') ? 2 : 1;
    }
    expect(expectedMisrouted).toBeGreaterThan(100);
    expect(ingest.ingestBatch('statsd', Buffer.from(lines.join('\n')), NOW).misrouted).toBe(expectedMisrouted);
  });
});

describe('ring.placement in the accumulator config', () => {
  const read = (pairs: Record<string, string>) =>
    readAccumulatorConfig(new ConfigSource({}, {}, new Map(Object.entries(pairs))));
  const staticPairs = { 'member.id': SELF, accumulators: NODES.map((n, i) => `${n}=h${i}:7000`).join(',') };

  it('defaults to carillon and takes statsd-proxy with the static list (ids are host:port)', () => {
    expect(read(staticPairs).ring.placement).toBe('carillon');
    const config = read({ ...staticPairs, 'ring.placement': 'statsd-proxy' });
    expect(config.ring.placement).toBe('statsd-proxy');
    expect(config.ring.staticMembers.map((m) => m.id)).toEqual(NODES);
  });

  it('refuses statsd-proxy with Redis membership, and unknown values, naming the key', () => {
    expect(() => read({ 'member.id': 'a', 'ring.redis_url': 'redis://x', 'ring.placement': 'statsd-proxy' })).toThrow(
      'config: ring.placement: statsd-proxy placement needs the static accumulators list',
    );
    expect(() => read({ ...staticPairs, 'ring.placement': 'proxy' })).toThrow(
      'config: ring.placement: must be one of carillon, statsd-proxy',
    );
  });
});
