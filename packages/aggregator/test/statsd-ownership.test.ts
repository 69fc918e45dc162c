/**
 * StatsD flushes with a key-ownership predicate (a cluster member whose ring moved keys away): from the interval
 * a key is no longer owned, nothing is emitted for it and its kept state is dropped and counted.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_STATSD_OPTIONS, StatsdAggregator, type StatsdKeyOwnership } from '@carillon/aggregator';
import { rig, statsdSample as s } from './helpers.js';

/** A 10 s StatsD aggregator started at 1000; `flush(second)` returns what the interval that just ended sent. */
function daemon(ownsKey?: StatsdKeyOwnership) {
  const statsd = new StatsdAggregator(DEFAULT_STATSD_OPTIONS, 10, 1_000_000, 1000, ownsKey);
  const out = new Map<number, Record<string, number>>();
  return {
    statsd,
    add: (second: number, ...samples: ReturnType<typeof s>[]) => samples.forEach((x) => statsd.add(x, second)),
    flush: (second: number): Record<string, number> => {
      statsd.flush(second, (name, value, time) => {
        const sent = out.get(time) ?? {};
        sent[name] = value;
        out.set(time, sent);
      });
      return out.get(second - (second % 10) - 10) ?? {};
    },
  };
}

/** `moved.*` keys belong to another member for the windows [1020, 1050); everything else is always ours. */
const movedAway: StatsdKeyOwnership = (name, windowStart) =>
  !(name.startsWith('moved.') && windowStart >= 1020 && windowStart < 1050);

const firstSamples = [
  s('moved.hits', 'c', 4),
  s('moved.level', 'g', 7),
  s('moved.latency', 'ms', 12),
  s('moved.users', 's', 0, { member: 'u1' }),
  s('kept.hits', 'c', 3),
  s('kept.level', 'g', 5),
];

describe('StatsD flush with key ownership', () => {
  it('emits a key while owned, then nothing for it (no idle zeros, no repeated gauge), counting the dropped state', () => {
    const d = daemon(movedAway);
    d.add(1001, ...firstSamples);
    expect(d.flush(1010)).toMatchObject({
      'stats_counts.moved.hits': 4,
      'stats.gauges.moved.level': 7,
      'stats.timers.moved.latency.upper': 12,
      'stats.sets.moved.users.count': 1,
      'stats_counts.kept.hits': 3,
      'stats.gauges.kept.level': 5,
    });
    // Idle but still owned: zeros and the kept gauge, as the reference daemon sends them.
    expect(d.flush(1020)).toMatchObject({
      'stats_counts.moved.hits': 0,
      'stats.gauges.moved.level': 7,
      'stats.timers.moved.latency.count': 0,
      'stats.sets.moved.users.count': 0,
    });
    expect(d.statsd.counts.keysDisowned).toBe(0);

    // From 1020 another member owns moved.*: only the kept keys remain.
    expect(d.flush(1030)).toEqual({ 'stats.kept.hits': 0, 'stats_counts.kept.hits': 0, 'stats.gauges.kept.level': 5 });
    expect(d.statsd.counts.keysDisowned).toBe(4);

    // A sample for a key not owned in its interval is dropped with it (one more key state).
    d.add(1031, s('moved.hits', 'c', 9), s('kept.hits', 'c', 1));
    expect(d.flush(1040)).toEqual({
      'stats.kept.hits': 0.1,
      'stats_counts.kept.hits': 1,
      'stats.gauges.kept.level': 5,
    });
    expect(d.statsd.counts.keysDisowned).toBe(5);
  });

  it('drops the state rather than hiding it: a key owned again starts from its next sample', () => {
    const d = daemon(movedAway);
    d.add(1001, ...firstSamples);
    d.flush(1010);
    d.flush(1020);
    d.flush(1030);
    d.flush(1040);
    // Owned again from 1050: the idle counter, timer and set are not known any more; a gauge delta starts from 0.
    d.add(1052, s('moved.level', 'g', 2, { gaugeDelta: true }));
    expect(d.flush(1060)).toEqual({
      'stats.kept.hits': 0,
      'stats_counts.kept.hits': 0,
      'stats.gauges.kept.level': 5,
      'stats.gauges.moved.level': 2,
    });
    expect(d.statsd.counts.keysDisowned).toBe(4);
  });

  it('without a predicate keeps every key (a single process owns them all)', () => {
    const d = daemon();
    d.add(1001, ...firstSamples);
    d.flush(1010);
    d.flush(1020);
    expect(d.flush(1030)).toMatchObject({ 'stats_counts.moved.hits': 0, 'stats.gauges.moved.level': 7 });
    expect(d.statsd.counts.keysDisowned).toBe(0);
  });

  it('the aggregator passes its interval starts, writes no disowned key, counts them, and filters the shutdown flush', () => {
    const asked = new Set<number>();
    const owns: StatsdKeyOwnership = (name, windowStart) => {
      asked.add(windowStart);
      return !(name.startsWith('moved.') && windowStart >= 1220);
    };
    const r = rig({}, {}, 1200, { ownsStatsdKey: owns });
    r.aggregator.addStatsdBatch([s('moved.hits', 'c', 2), s('moved.level', 'g', 6), s('kept.hits', 'c', 1)], 1201);
    r.tickAt(1215);
    r.tickAt(1225);
    expect(r.sink.point(10, 1200, 'stats_counts.moved.hits')?.sum).toBe(2);
    expect(r.sink.point(10, 1210, 'stats.gauges.moved.level')?.last).toBe(6);
    expect(r.metrics.value('aggregator_statsd_keys_disowned_total')).toBe(0);

    r.tickAt(1235);
    r.aggregator.addStatsdBatch([s('moved.hits', 'c', 5), s('kept.hits', 'c', 1)], 1236);
    r.time.set(1237_000);
    r.aggregator.flushAll();
    const written = (time: number): string[] =>
      r.sink.batches.filter((b) => b.resolution.step === 10 && b.time === time).flatMap((b) => b.names);
    expect(written(1220).sort()).toEqual(['stats.kept.hits', 'stats_counts.kept.hits']);
    expect(written(1230).sort()).toEqual(['stats.kept.hits', 'stats_counts.kept.hits']);
    expect(r.sink.point(10, 1230, 'stats_counts.kept.hits')?.sum).toBe(1);
    // Counter and gauge at 1220, then the interval-only counter sample at 1230.
    expect(r.metrics.value('aggregator_statsd_keys_disowned_total')).toBe(3);
    expect([...asked].sort()).toEqual([1200, 1210, 1220, 1230]);
  });
});
