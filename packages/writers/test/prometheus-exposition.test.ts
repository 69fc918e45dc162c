/** Graphite → Prometheus mapping and the bounded exposition (pure: no server). */
import { describe, expect, it } from 'vitest';
import { makeBatch, MetricsRegistry, parseResolutions } from '@carillon/core';
import { compileRules, Exposition, globToRegExp, mapSeries, type ExpositionOptions } from '@carillon/writers';
import { pointOfSamples as point } from '../../../test/support/stat-points.js';

const [fine, coarse] = parseResolutions(['10s:1h', '1m:1d']);

describe('mapping', () => {
  const rules = compileRules(
    [
      { match: 'servers.*.cpu.*', name: 'server_cpu_$2', labels: { host: '$1' } },
      { match: 'app.**', name: 'app', labels: { path: '${1}' } },
    ],
    'rules',
  );

  it('globs match one node per star, ** several', () => {
    expect(globToRegExp('a.*.c').test('a.b.c')).toBe(true);
    expect(globToRegExp('a.*.c').test('a.b.x.c')).toBe(false);
    expect(globToRegExp('a.b*').exec('a.bcd')?.[1]).toBe('cd');
    expect(globToRegExp('a.**').exec('a.b.c')?.[1]).toBe('b.c');
  });

  it('names and labels from the first matching rule, tags as labels, the rest sanitized', () => {
    expect(mapSeries('servers.web1.cpu.user;dc=eu', rules)).toEqual({
      name: 'server_cpu_user',
      labels: [
        ['dc', 'eu'],
        ['host', 'web1'],
      ],
    });
    expect(mapSeries('app.x.y', rules)).toEqual({ name: 'app', labels: [['path', 'x.y']] });
    expect(mapSeries('stats.timers.a-b.p95;my.tag=1', rules)).toEqual({
      name: 'stats_timers_a_b_p95',
      labels: [['my_tag', '1']],
    });
    expect(mapSeries('9lives', rules)?.name).toBe('_9lives');
    expect(mapSeries('servers.w.cpu.x-y', rules)).toBeUndefined();
  });

  it('refuses a bad label name in config, naming the key', () => {
    expect(() => compileRules([{ match: 'a', name: 'a', labels: { 'bad-label': 'x' } }], 'w.rules')).toThrow(
      /w\.rules\[0\]\.labels/,
    );
  });
});

describe('Exposition', () => {
  const base: ExpositionOptions = {
    name: 'prom',
    rules: [],
    resolutionIndex: 0,
    maxSeries: 3,
    expireAfterMs: 1_000,
  };

  it('exports the latest value by aggregation method, never an older window, one TYPE per name', () => {
    const metrics = new MetricsRegistry();
    const e = new Exposition(base, metrics);
    e.update(
      makeBatch(fine!, 100, [
        ['a.count', point(100, [1, 2])],
        ['a.avg;h=x', point(100, [1, 2])],
        ['a.avg;h=y', point(100, [4])],
      ]),
      0,
    );
    e.update(makeBatch(fine!, 90, [['a.count', point(90, [50])]]), 0);
    e.update(makeBatch(coarse!, 60, [['a.count', point(60, [70])]]), 0);
    expect(e.render(0)).toBe('# TYPE a_count gauge\na_count 3\n# TYPE a_avg gauge\na_avg{h="x"} 1.5\na_avg{h="y"} 4\n');
  });

  it('counts series past the limit, collisions, bad names and expiries', () => {
    const metrics = new MetricsRegistry();
    const e = new Exposition(
      { ...base, rules: compileRules([{ match: 'bad', name: '1x', labels: {} }], 'r') },
      metrics,
    );
    e.update(
      makeBatch(fine!, 100, [
        ['a.b', point(100, [1])],
        ['a_b', point(100, [2])],
        ['bad', point(100, [3])],
        ['c', point(100, [4])],
        ['d', point(100, [5])],
        ['e', point(100, [6])],
      ]),
      0,
    );
    const dropped = (reason: string) => metrics.value('prometheus_writer_series_dropped_total', 'prom', reason);
    expect([dropped('collision'), dropped('invalid_name'), dropped('limit')]).toEqual([1, 1, 1]);
    expect(e.render(500)).toBe('# TYPE a_b gauge\na_b 1\n# TYPE c gauge\nc 4\n# TYPE d gauge\nd 5\n');
    e.update(makeBatch(fine!, 110, [['c', point(110, [8])]]), 900);
    expect(e.render(1_500)).toBe('# TYPE c gauge\nc 8\n');
    expect(metrics.value('prometheus_writer_series_expired_total', 'prom')).toBe(2);
    // Room again: a new series is taken.
    e.update(makeBatch(fine!, 120, [['e', point(120, [9])]]), 1_500);
    expect(e.render(1_500)).toContain('e 9\n');
  });
});
