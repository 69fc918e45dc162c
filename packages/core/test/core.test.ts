import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  ConfigSource,
  parseListenAddress,
  parseOverrides,
  MetricsRegistry,
  fnv1a64,
  mergeStatPoint,
  parseDuration,
  parseMetricName,
  parseResolutions,
  seriesId,
  statPointOf,
  tagValueOf,
  addSample,
  windowStart,
  type StatPoint,
} from '@carillon/core';

describe('parseMetricName', () => {
  it.each([
    ['a.b.c', 'a.b.c'],
    ['a.b;z=1;a=2', 'a.b;a=2;z=1'],
    ['a;k=1;k=2', 'a;k=2'],
    ['a;name=x;k=v', 'a;k=v'],
    ['héllo.wörld', 'héllo.wörld'],
  ])('%s is canonical as %s', (name, canonical) => {
    const key = parseMetricName(name);
    expect(typeof key).toBe('object');
    if (typeof key === 'object') expect(key.canonical).toBe(canonical);
  });

  it.each([
    ['', 'invalid_path'],
    ['a..b', 'invalid_path'],
    ['.a', 'invalid_path'],
    ['a.', 'invalid_path'],
    ['a/b', 'invalid_path'],
    ['a;k', 'invalid_tag'],
    ['a;=v', 'invalid_tag'],
    ['a;k=', 'invalid_tag'],
    ['a;k=~v', 'invalid_tag'],
    ['a;k!=v', 'invalid_tag'],
    [';k=v', 'invalid_path'],
  ])('%j is refused as %s', (name, problem) => {
    expect(parseMetricName(name)).toBe(problem);
  });
});

describe('tagValueOf', () => {
  it.each([
    ['a.b;dc=east;host=x', 'name', 'a.b'],
    ['a.b;dc=east;host=x', 'host', 'x'],
    ['a.b;dc=east;host=x', 'dc', 'east'],
    ['a.b;dc=east;host=x', 'd', undefined],
    ['a.b', 'host', undefined],
    ['a.b;url=a=b', 'url', 'a=b'],
  ])('%s has %s = %s', (canonical, tag, value) => {
    expect(tagValueOf(canonical, tag)).toBe(value);
  });
});

describe('resolutions', () => {
  it('parses the default times', () => {
    const r = parseResolutions(['10s:168h', '1m:720h', '10m:21600h']);
    expect(r.map((x) => [x.step, x.ttl, x.name])).toEqual([
      [10, 604800, '10s:1w'],
      [60, 2592000, '1m:30d'],
      [600, 77760000, '10m:900d'],
    ]);
  });
  it.each([
    [[], 'times: needs at least one'],
    [['10s'], 'times[0]: "10s" must be step:retention'],
    [['10s:1h', '15s:1h'], 'times[1]: step 15s is not a multiple'],
    [['1m:1h', '10s:1h'], 'times[1]: step 10s must be longer'],
    [['10x:1h'], 'times[0]: "10x" is not a duration'],
    [['1h:1m'], 'times[0]: retention 1m is shorter'],
  ])('%j is a config error naming the key', (specs, message) => {
    expect(() => parseResolutions(specs)).toThrowError(ConfigError);
    expect(() => parseResolutions(specs)).toThrowError(message);
  });
  it('parseDuration', () => {
    expect(parseDuration('2d', 'k')).toBe(172800);
    expect(() => parseDuration('0s', 'k')).toThrowError('config: k:');
  });
});

describe('StatPoint', () => {
  it('merging finer points equals aggregating all samples', () => {
    const samples = [5, -2, 7.5, 0, 3, 3, 11];
    const whole = statPointOf(0, samples[0]!);
    for (const v of samples.slice(1)) addSample(whole, v);
    const a = statPointOf(0, samples[0]!);
    for (const v of samples.slice(1, 3)) addSample(a, v);
    const b = statPointOf(10, samples[3]!);
    for (const v of samples.slice(4)) addSample(b, v);
    mergeStatPoint(a, b);
    expect(a).toEqual(whole);
    expect(whole).toEqual({ time: 0, min: -2, max: 11, sum: 27.5, first: 5, last: 11, count: 7 });
  });
  it('windowStart floors', () => {
    expect(windowStart(1000, 60)).toBe(960);
    expect(windowStart(-1, 60)).toBe(-60);
  });
});

describe('ids', () => {
  it('fnv1a64 matches the reference vectors', () => {
    expect(fnv1a64('')).toBe(0xcbf29ce484222325n);
    expect(fnv1a64('a')).toBe(0xaf63dc4c8601ec8cn);
    expect(fnv1a64('foobar')).toBe(0x85944171f73967e8n);
  });
  it('seriesId hashes path and sorted tags', () => {
    expect(seriesId('a.b', [])).toBe(BigInt.asIntN(64, fnv1a64('a.b:')));
    expect(
      seriesId('a', [
        ['k', 'v'],
        ['x', 'y'],
      ]),
    ).toBe(BigInt.asIntN(64, fnv1a64('a:k=v;x=y')));
  });
});

describe('MetricsRegistry', () => {
  it('renders counters, gauges and histograms', () => {
    const registry = new MetricsRegistry();
    const rejected = registry.counter('lines_rejected_total', 'Lines rejected', ['reason']);
    rejected.labels('invalid_value').inc(3);
    registry.gauge('queue_depth', 'Queue depth', [], (g) => g.set(7));
    const latency = registry.histogram('write_seconds', 'Write latency', [0.1, 1]);
    latency.observe(0.05);
    latency.observe(5);
    const text = registry.render();
    expect(text).toContain('carillon_lines_rejected_total{reason="invalid_value"} 3');
    expect(text).toContain('carillon_queue_depth 7');
    expect(text).toContain('carillon_write_seconds_bucket{le="0.1"} 1');
    expect(text).toContain('carillon_write_seconds_bucket{le="+Inf"} 2');
    expect(registry.value('lines_rejected_total', 'invalid_value')).toBe(3);
  });

  it('merges other registries by label set: the last snapshot of each source, summed with its own', () => {
    const worker = (lines: number, queued: number, slow: number): MetricsRegistry => {
      const r = new MetricsRegistry();
      r.counter('lines_total', 'Lines', ['protocol']).labels('graphite').inc(lines);
      r.counter('lines_total', 'Lines', ['protocol']).labels('statsd').inc(1);
      r.gauge('queued', 'Queued', ['destination'], (g) => g.labels('a').set(queued));
      r.histogram('seconds', 'Latency', [0.1, 1]).observe(slow);
      return r;
    };
    const main = new MetricsRegistry();
    main.counter('lines_total', 'Lines', ['protocol']).labels('graphite').inc(1);
    main.absorb('w0', worker(10, 2, 0.05).snapshot());
    main.absorb('w1', worker(20, 3, 5).snapshot());
    // A source's new snapshot replaces its old one.
    main.absorb('w1', worker(30, 4, 5).snapshot());
    expect(main.value('lines_total', 'graphite')).toBe(41);
    expect(main.value('lines_total', 'statsd')).toBe(2);
    expect(main.value('queued', 'a')).toBe(6);
    const text = main.render();
    expect(text).toContain('carillon_lines_total{protocol="graphite"} 41');
    expect(text).toContain('carillon_queued{destination="a"} 6');
    expect(text).toContain('carillon_seconds_bucket{le="0.1"} 1');
    expect(text).toContain('carillon_seconds_bucket{le="+Inf"} 2');
    expect(text.match(/# TYPE carillon_lines_total counter/g)).toHaveLength(1);
    // Rendering twice does not add the sources twice.
    expect(main.render()).toBe(text);
  });
});

describe('ConfigSource', () => {
  const file = { log_level: 'debug', graphite: { max_line_length: 2048, tcp_listen: ':2003' }, times: ['10s:1h'] };

  it('layers file, environment and overrides', () => {
    const source = new ConfigSource(
      file,
      { CARILLON_GRAPHITE_MAX_LINE_LENGTH: '1024' },
      parseOverrides(['graphite.tcp_listen=127.0.0.1:2004']),
    );
    expect(source.string('log_level', 'info')).toBe('debug');
    expect(source.integer('graphite.max_line_length', 4096)).toBe(1024);
    expect(source.string('graphite.tcp_listen', ':2003')).toBe('127.0.0.1:2004');
    expect(source.stringList('times', [])).toEqual(['10s:1h']);
    expect(source.duration('aggregator.grace', '2s')).toBe(2);
    expect(() => source.assertAllKeysKnown()).not.toThrow();
  });

  it('names the key in every error', () => {
    const source = new ConfigSource({ a: 'x', b: { c: 1.5 } }, { CARILLON_D: 'maybe' });
    expect(() => source.integer('a', 1)).toThrowError('config: a: must be a number');
    expect(() => source.integer('b.c', 1)).toThrowError('config: b.c: must be a whole number');
    expect(() => source.boolean('d', false)).toThrowError('config: d: must be true or false');
    expect(() => source.integer('e', 5, { min: 10 })).toThrowError('config: e: must be at least 10');
  });

  it('reports keys nobody read', () => {
    const source = new ConfigSource({ graphite: { max_line_lenght: 1 } }, {}, parseOverrides(['http.prot=1']));
    source.integer('graphite.max_line_length', 4096);
    expect(() => source.assertAllKeysKnown()).toThrowError(
      'config: graphite.max_line_lenght: unknown key (also: http.prot)',
    );
  });

  it('parses listen addresses', () => {
    expect(parseListenAddress(':2003', 'k')).toEqual({ host: '::', port: 2003 });
    expect(parseListenAddress('127.0.0.1:0', 'k')).toEqual({ host: '127.0.0.1', port: 0 });
    expect(parseListenAddress('', 'k')).toBeNull();
    expect(() => parseListenAddress('host:x', 'k')).toThrowError('config: k:');
  });
});

describe('mergeStatPoint with first/last timestamps (amends)', () => {
  const timed = (time: number, values: [number, number][]): StatPoint => {
    const point: StatPoint = { time, min: 0, max: 0, sum: 0, first: 0, last: 0, count: 0 };
    for (const [t, v] of values) addSample(point, v, t);
    return point;
  };

  it('gives the same StatPoint as if the late points had arrived in time, whatever the order of timestamps', () => {
    const stored = timed(100, [
      [103, 1],
      [101, 2],
      [108, 3],
    ]);
    const late = timed(100, [
      [100, 9],
      [109, -4],
    ]);
    mergeStatPoint(stored, late);
    const inTime = timed(100, [
      [103, 1],
      [101, 2],
      [108, 3],
      [100, 9],
      [109, -4],
    ]);
    expect(stored).toEqual(inTime);
    expect(stored).toMatchObject({ first: 9, firstTime: 100, last: -4, lastTime: 109, count: 5, sum: 11 });
  });

  it('breaks ties by arrival: the stored point keeps first, the later arrival takes last', () => {
    const stored = timed(100, [
      [105, 1],
      [102, 2],
    ]);
    mergeStatPoint(
      stored,
      timed(100, [
        [102, 7],
        [105, 8],
      ]),
    );
    expect(stored).toMatchObject({ first: 2, firstTime: 102, last: 8, lastTime: 105 });
  });

  it('leaves first and last alone for late points inside the stored span', () => {
    const stored = timed(100, [
      [101, 1],
      [109, 2],
    ]);
    mergeStatPoint(stored, timed(100, [[105, 50]]));
    expect(stored).toEqual({
      time: 100,
      min: 1,
      max: 50,
      sum: 53,
      first: 1,
      last: 2,
      count: 3,
      firstTime: 101,
      lastTime: 109,
    });
  });

  it('amends a coarse window exactly: merging fine windows in any order gives the time-ordered merge', () => {
    const fine = [
      timed(60, [[61, 4]]),
      timed(70, [
        [75, 1],
        [71, 6],
      ]),
      timed(80, [[89, 2]]),
    ];
    const inOrder: StatPoint = { time: 60, min: 0, max: 0, sum: 0, first: 0, last: 0, count: 0 };
    for (const p of fine) mergeStatPoint(inOrder, p);
    const amended: StatPoint = { time: 60, min: 0, max: 0, sum: 0, first: 0, last: 0, count: 0 };
    for (const p of [fine[1]!, fine[2]!, fine[0]!]) mergeStatPoint(amended, p);
    expect(amended).toEqual(inOrder);
    expect(inOrder).toMatchObject({ first: 4, firstTime: 61, last: 2, lastTime: 89, count: 4 });
  });
});
