import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '@carillon/core';
import {
  binsOf,
  computeTimer,
  DEFAULT_STATSD_OPTIONS,
  percentileNames,
  parseStatsdOptions,
  StatsdAggregator,
  timerMetricFilter,
  type StatsdOptions,
} from '@carillon/aggregator';
import { statsdSample as s } from './helpers.js';

/** A StatsD aggregator on a 10 s interval whose flushes are collected per interval start. */
function daemon(options: Partial<StatsdOptions> = {}, maxValues = 1_000_000) {
  const statsd = new StatsdAggregator({ ...DEFAULT_STATSD_OPTIONS, ...options }, 10, maxValues, 1000);
  const out = new Map<number, Map<string, number>>();
  const emit = (name: string, value: number, time: number) => {
    let m = out.get(time);
    if (!m) out.set(time, (m = new Map()));
    m.set(name, value);
  };
  return {
    statsd,
    /** Samples arriving at `second`. */
    add: (second: number, ...samples: ReturnType<typeof s>[]) => samples.forEach((x) => statsd.add(x, second)),
    /** Flushes at `second` and returns what the interval starting at `interval` sent. */
    flush: (second: number, interval = second - (second % 10) - 10) => {
      statsd.flush(second, emit);
      return Object.fromEntries(out.get(interval) ?? new Map<string, number>());
    },
  };
}

describe('StatsD counters', () => {
  it('sends rate per second and count, with sample rates, in the legacy namespace', () => {
    const d = daemon();
    d.add(1001, s('hits', 'c', 1, { sampleRate: 0.1 }), s('hits', 'c', 3));
    expect(d.flush(1010)).toEqual({ 'stats.hits': 1.3, 'stats_counts.hits': 13 });
    // Idle: zeros, because deleteCounters is off.
    expect(d.flush(1020)).toEqual({ 'stats.hits': 0, 'stats_counts.hits': 0 });
  });

  it('uses .rate/.count under the non-legacy namespace with prefixes, suffix and tags', () => {
    const d = daemon({ legacyNamespace: false, globalSuffix: 'host1' });
    d.add(1001, s('hits;env=prod', 'c', 20));
    expect(d.flush(1010)).toEqual({
      'stats.counters.hits.rate.host1;env=prod': 2,
      'stats.counters.hits.count.host1;env=prod': 20,
    });
    const e = daemon({ legacyNamespace: false, globalPrefix: 'app', prefixCounter: '' });
    e.add(1001, s('hits', 'c', 20));
    expect(e.flush(1010)).toEqual({ 'app.hits.rate': 2, 'app.hits.count': 20 });
  });

  it('ignores globalPrefix/prefix* in the legacy namespace, as the reference does, and honours flush_counts', () => {
    const d = daemon({ globalPrefix: 'app', prefixCounter: 'c', flushCounts: false, globalSuffix: 'h' });
    d.add(1001, s('hits;a=b', 'c', 10));
    expect(d.flush(1010)).toEqual({ 'stats.hits.h;a=b': 1 });
  });

  it('deleteCounters stops sending idle counters', () => {
    const d = daemon({ deleteCounters: true });
    d.add(1001, s('hits', 'c', 10));
    expect(d.flush(1010)).toEqual({ 'stats.hits': 1, 'stats_counts.hits': 10 });
    expect(d.flush(1020)).toEqual({});
  });
});

describe('StatsD output time', () => {
  it('is the start of the interval, or with compatStampAtFlushTime its end (the flush time) as in the reference', () => {
    const d = daemon();
    d.add(1001, s('hits', 'c', 1), s('level', 'g', 5));
    expect(d.flush(1010, 1000)).toEqual({ 'stats.hits': 0.1, 'stats_counts.hits': 1, 'stats.gauges.level': 5 });
    const e = daemon({ compatStampAtFlushTime: true });
    e.add(1001, s('hits', 'c', 1), s('level', 'g', 5));
    expect(e.flush(1010, 1000)).toEqual({});
    expect(e.flush(1010, 1010)).toEqual({ 'stats.hits': 0.1, 'stats_counts.hits': 1, 'stats.gauges.level': 5 });
  });
});

describe('StatsD gauges', () => {
  it('keep their value across flushes and apply +/- deltas', () => {
    const d = daemon();
    d.add(1001, s('temp', 'g', 5), s('temp', 'g', 2, { gaugeDelta: true }), s('temp', 'g', -1, { gaugeDelta: true }));
    expect(d.flush(1010)).toEqual({ 'stats.gauges.temp': 6 });
    expect(d.flush(1020)).toEqual({ 'stats.gauges.temp': 6 });
    d.add(1021, s('temp', 'g', -6, { gaugeDelta: true }), s('temp', 'g', 3, { gaugeDelta: true }));
    expect(d.flush(1030)).toEqual({ 'stats.gauges.temp': 3 });
    d.add(1031, s('temp', 'g', 1, { gaugeDelta: true }), s('temp', 'g', 8));
    expect(d.flush(1040)).toEqual({ 'stats.gauges.temp': 8 });
    // A delta on an unknown gauge starts from 0.
    d.add(1041, s('new', 'g', -4, { gaugeDelta: true }));
    expect(d.flush(1050)).toEqual({ 'stats.gauges.temp': 8, 'stats.gauges.new': -4 });
  });

  it('applies deltas in the order of the intervals they arrived in', () => {
    const d = daemon();
    d.add(1001, s('q', 'g', 10));
    d.add(1012, s('q', 'g', 5, { gaugeDelta: true })); // next interval, before the 1000 interval is flushed
    expect(d.flush(1015, 1000)).toEqual({ 'stats.gauges.q': 10 });
    expect(d.flush(1025, 1010)).toEqual({ 'stats.gauges.q': 15 });
  });

  it('deleteGauges drops a gauge after gaugesMaxTTL flushes without an update', () => {
    const d = daemon({ deleteGauges: true, gaugesMaxTTL: 2, legacyNamespace: false, prefixGauge: 'g' });
    d.add(1001, s('temp', 'g', 5));
    expect(d.flush(1010)).toEqual({ 'stats.g.temp': 5 });
    expect(d.flush(1020)).toEqual({ 'stats.g.temp': 5 });
    expect(d.flush(1030)).toEqual({});
  });
});

describe('StatsD sets', () => {
  it('count unique members; the empty member counts as "0"; idle sets send 0 unless deleteSets', () => {
    const d = daemon();
    const m = (member: string) => s('users', 's', NaN, { member });
    d.add(1001, m('a'), m('b'), m('a'), m(''), m('0'));
    expect(d.flush(1010)).toEqual({ 'stats.sets.users.count': 3 });
    expect(d.flush(1020)).toEqual({ 'stats.sets.users.count': 0 });
    const e = daemon({ deleteSets: true, legacyNamespace: false, prefixSet: 'uniq' });
    e.add(1001, m('a'));
    expect(e.flush(1010)).toEqual({ 'stats.uniq.users.count': 1 });
    expect(e.flush(1020)).toEqual({});
  });
});

describe('StatsD timers', () => {
  const oneToTen = (type: 'ms' | 'h' | 'd' = 'ms') =>
    [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((v) => s('req', type, v, v === 10 ? { sampleRate: 0.5 } : {}));

  it('compute the reference statistics and percentiles (positive and top)', () => {
    const d = daemon({ percentThreshold: [90, -10, 50] });
    d.add(1001, ...oneToTen());
    expect(d.flush(1010)).toEqual({
      'stats.timers.req.count': 11,
      'stats.timers.req.count_ps': 1.1,
      'stats.timers.req.lower': 1,
      'stats.timers.req.upper': 10,
      'stats.timers.req.sum': 55,
      'stats.timers.req.sum_squares': 385,
      'stats.timers.req.mean': 5.5,
      'stats.timers.req.median': 5.5,
      'stats.timers.req.std': Math.sqrt(8.25),
      'stats.timers.req.count_90': 9,
      'stats.timers.req.mean_90': 5,
      'stats.timers.req.upper_90': 9,
      'stats.timers.req.sum_90': 45,
      'stats.timers.req.sum_squares_90': 285,
      'stats.timers.req.count_top10': 1,
      'stats.timers.req.mean_top10': 10,
      'stats.timers.req.lower_top10': 10,
      'stats.timers.req.sum_top10': 10,
      'stats.timers.req.sum_squares_top10': 100,
      'stats.timers.req.count_50': 5,
      'stats.timers.req.mean_50': 3,
      'stats.timers.req.upper_50': 5,
      'stats.timers.req.sum_50': 15,
      'stats.timers.req.sum_squares_50': 55,
    });
    // Idle timer: count and count_ps 0 only.
    expect(d.flush(1020)).toEqual({ 'stats.timers.req.count': 0, 'stats.timers.req.count_ps': 0 });
  });

  it('treat h and d like ms', () => {
    for (const type of ['h', 'd'] as const) {
      const d = daemon({ calculatedTimerMetrics: ['count', 'median', 'upper_percent'] });
      d.add(1001, ...oneToTen(type));
      expect(d.flush(1010)).toEqual({
        'stats.timers.req.count': 11,
        'stats.timers.req.median': 5.5,
        'stats.timers.req.upper_90': 9,
      });
    }
  });

  it('compatHAndDAsCounters counts h and d like the reference daemon (unknown types are counters there)', () => {
    const d = daemon({ compatHAndDAsCounters: true });
    d.add(1001, s('req', 'h', 4), s('req', 'd', 2, { sampleRate: 0.5 }), s('lat', 'ms', 3));
    const flushed = d.flush(1010);
    expect(flushed).toMatchObject({ 'stats.req': 0.8, 'stats_counts.req': 8, 'stats.timers.lat.count': 1 });
    expect(Object.keys(flushed).filter((name) => name.startsWith('stats.timers.req'))).toEqual([]);
  });

  it('with a single value send it for every percentile, odd counts take the middle median', () => {
    const d = daemon({ percentThreshold: [90], calculatedTimerMetrics: ['mean_percent', 'upper_percent', 'median'] });
    d.add(1001, s('one', 'ms', 7));
    d.add(1001, s('three', 'ms', 9), s('three', 'ms', 1), s('three', 'ms', 4));
    expect(d.flush(1010)).toEqual({
      'stats.timers.one.mean_90': 7,
      'stats.timers.one.upper_90': 7,
      'stats.timers.one.median': 7,
      'stats.timers.three.mean_90': 4.666666666666667, // round(2.7) = 3 values: 14 / 3
      'stats.timers.three.upper_90': 9,
      'stats.timers.three.median': 4,
    });
  });

  it('send histogram bins for the first matching rule, ignoring values above the last bound', () => {
    const histogram = [
      { metric: 'foo', bins: [] },
      { metric: 'req', bins: [2, 5.5, 'inf' as const] },
      { metric: '', bins: [3, 5] },
    ];
    const d = daemon({ histogram, calculatedTimerMetrics: ['histogram'] });
    d.add(1001, ...oneToTen(), s('db.foo', 'ms', 1), s('other', 'ms', 1), s('other', 'ms', 3), s('other', 'ms', 9));
    expect(d.flush(1010)).toEqual({
      'stats.timers.req.histogram.bin_2': 1,
      'stats.timers.req.histogram.bin_5_5': 4,
      'stats.timers.req.histogram.bin_inf': 5,
      'stats.timers.other.histogram.bin_3': 1,
      'stats.timers.other.histogram.bin_5': 1,
    });
  });

  it('deleteTimers (and deleteIdleStats) stop sending idle timers', () => {
    const d = daemon(parseStatsdOptions({ deleteIdleStats: true }));
    d.add(1001, s('req', 'ms', 1), s('c', 'c', 1), s('s', 's', NaN, { member: 'x' }), s('g', 'g', 1));
    expect(Object.keys(d.flush(1010))).toHaveLength(
      5 /* percentile */ + 9 /* timer */ + 2 /* counter */ + 1 /* set */ + 1 /* gauge */,
    );
    expect(d.flush(1020)).toEqual({});
  });

  it('bound the values held per interval and count what they drop', () => {
    const d = daemon({}, 3);
    d.add(1001, s('t', 'ms', 1), s('t', 'ms', 2), s('u', 's', NaN, { member: 'a' }), s('t', 'ms', 3));
    d.add(1001, s('u', 's', NaN, { member: 'b' }), s('u', 's', NaN, { member: 'a' }), s('c', 'c', 1));
    expect(d.statsd.counts.valuesDropped).toBe(2);
    const out = d.flush(1010);
    expect(out['stats.timers.t.count']).toBe(2);
    expect(out['stats.sets.u.count']).toBe(1);
    expect(out['stats_counts.c']).toBe(1);
  });
});

describe('timer maths against the reference daemon', () => {
  // The installed reference implementation, run on the same inputs: results must match bit for bit.
  const require = createRequire(import.meta.url);
  const reference = require('statsd/lib/process_metrics.js') as {
    process_metrics: (
      metrics: Record<string, unknown>,
      calculated: string[] | undefined,
      flushInterval: number,
      ts: number,
      done: (m: { timer_data: Record<string, Record<string, number | Record<string, number>>> }) => void,
    ) => void;
  };

  it('matches process_metrics on random timers, thresholds and histograms', () => {
    let seed = 42;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const pctThreshold = [90, 99.9, -10, 50, -75, 100];
    const bins = [0.5, 10, 100.25, 'inf' as const];
    for (let round = 0; round < 200; round++) {
      const n = 1 + Math.floor(random() * 40);
      const values = Array.from({ length: n }, () => Math.round(random() * 20000) / 100);
      const count = n + Math.floor(random() * 5);
      let expected: Record<string, number | Record<string, number>> = {};
      reference.process_metrics(
        {
          counters: {},
          timers: { t: [...values] },
          timer_counters: { t: count },
          pctThreshold,
          histogram: [{ metric: 't', bins }],
        },
        undefined,
        10_000,
        0,
        (m) => (expected = m.timer_data.t!),
      );
      const ours: Record<string, number | Record<string, number>> = {};
      const histogram: Record<string, number> = {};
      computeTimer(
        Float64Array.from(values).sort(),
        count,
        10,
        percentileNames(pctThreshold),
        binsOf({ metric: 't', bins }),
        timerMetricFilter([]),
        (metric, value) => {
          if (metric.startsWith('histogram.')) histogram[metric.slice('histogram.'.length)] = value;
          else ours[metric] = value;
        },
      );
      ours.histogram = histogram;
      // Our one deliberate deviation: the reference sends NaN where a top percentile takes every value.
      for (const [key, value] of Object.entries(expected))
        if (typeof value === 'number' && Number.isNaN(value)) expected[key] = ours[key]!;
      expect(ours).toEqual(expected);
    }
  });
});

describe('parseStatsdOptions', () => {
  it('gives the reference defaults', () => {
    expect(parseStatsdOptions({})).toEqual(DEFAULT_STATSD_OPTIONS);
    expect(parseStatsdOptions(undefined)).toEqual(DEFAULT_STATSD_OPTIONS);
  });

  it('lets deleteIdleStats set every delete option, each still overridable', () => {
    const options = parseStatsdOptions({ deleteIdleStats: true, deleteGauges: false });
    expect(options).toMatchObject({ deleteCounters: true, deleteTimers: true, deleteSets: true, deleteGauges: false });
  });

  it('reads every option', () => {
    const options = parseStatsdOptions({
      percentThreshold: 95,
      flush_counts: false,
      gaugesMaxTTL: 3,
      calculatedTimerMetrics: ['count'],
      histogram: [{ metric: 'x', bins: [1, 'inf'] }],
      legacyNamespace: false,
      globalPrefix: 'p',
      prefixCounter: 'c',
      prefixTimer: 't',
      prefixGauge: 'g',
      prefixSet: 's',
      globalSuffix: 'host',
      compatHAndDAsCounters: true,
      compatStampAtFlushTime: true,
    });
    expect(options).toEqual({
      ...DEFAULT_STATSD_OPTIONS,
      percentThreshold: [95],
      flushCounts: false,
      gaugesMaxTTL: 3,
      calculatedTimerMetrics: ['count'],
      histogram: [{ metric: 'x', bins: [1, 'inf'] }],
      legacyNamespace: false,
      globalPrefix: 'p',
      prefixCounter: 'c',
      prefixTimer: 't',
      prefixGauge: 'g',
      prefixSet: 's',
      globalSuffix: 'host',
      compatHAndDAsCounters: true,
      compatStampAtFlushTime: true,
    });
  });

  it.each([
    [{ percentThreshold: [90, 'x'] }, 'statsd.percentThreshold[1]'],
    [{ percentThreshold: 0 }, 'statsd.percentThreshold'],
    [{ deleteCounters: 'yes' }, 'statsd.deleteCounters'],
    [{ gaugesMaxTTL: 0 }, 'statsd.gaugesMaxTTL'],
    [{ histogram: [{ metric: 'a', bins: [5, 1] }] }, 'statsd.histogram[0].bins[1]'],
    [{ histogram: [{ metric: 'a', bins: ['inf', 1] }] }, 'statsd.histogram[0].bins[0]'],
    [{ histogram: [{ bins: [] }] }, 'statsd.histogram[0].metric'],
    [{ globalPrefix: 'a..b' }, 'statsd.globalPrefix'],
    [{ calculatedTimerMetrics: 'count' }, 'statsd.calculatedTimerMetrics'],
    [{ flushInterval: 10 }, 'statsd.flushInterval'],
  ])('refuses %j naming %s', (raw, key) => {
    expect(() => parseStatsdOptions(raw, 'statsd')).toThrow(ConfigError);
    try {
      parseStatsdOptions(raw, 'statsd');
    } catch (error) {
      expect((error as ConfigError).key).toBe(key);
    }
  });
});
