import { describe, expect, it } from 'vitest';
import { ConfigError } from '@carillon/core';
import { parseAggregatorOptions } from '@carillon/aggregator';

describe('parseAggregatorOptions', () => {
  it('gives defaults: the design resolutions, 5 s grace, 60 s future bound', () => {
    const options = parseAggregatorOptions({});
    expect(options.resolutions.map((r) => r.name)).toEqual(['10s:1w', '1m:30d', '10m:900d']);
    expect(options).toMatchObject({ graceSeconds: 5, maxFutureSeconds: 60, maxPendingPoints: 5_000_000 });
  });

  it('reads durations as text or whole seconds', () => {
    const options = parseAggregatorOptions({
      times: ['1m:1d'],
      grace: '10s',
      max_future: 120,
      max_pending_points: 10,
      max_statsd_interval_values: 20,
    });
    expect(options).toMatchObject({
      graceSeconds: 10,
      maxFutureSeconds: 120,
      maxPendingPoints: 10,
      maxStatsdIntervalValues: 20,
    });
    expect(options.resolutions[0]!.step).toBe(60);
  });

  it.each([
    [{ times: ['10s:1h', '15s:1d'] }, 'aggregator.times[1]'],
    [{ grace: 'soon' }, 'aggregator.grace'],
    [{ max_pending_points: 0 }, 'aggregator.max_pending_points'],
    [{ max_future: -1 }, 'aggregator.max_future'],
    [{ maxFuture: 1 }, 'aggregator.maxFuture'],
  ])('refuses %j naming %s', (raw, key) => {
    let caught: unknown;
    try {
      parseAggregatorOptions(raw);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as ConfigError).key).toBe(key);
  });
});
