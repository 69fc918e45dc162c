import { describe, expect, it } from 'vitest';
import { seriesNameCost } from '@carillon/aggregator';
import { rig } from './helpers.js';

const g = (name: string, timestamp: number, value: number) => ({ name, timestamp, value });

describe('series names bounded in bytes and forgotten when idle', () => {
  it('refuses points of new series past max_series_bytes, counted, and keeps taking known ones', () => {
    const budget = seriesNameCost('a.1') * 2;
    const r = rig({ maxSeriesBytes: budget });
    expect(r.aggregator.addGraphite(g('a.1', 1201, 1))).toBe(true);
    expect(r.aggregator.addGraphite(g('a.2', 1201, 1))).toBe(true);
    expect(r.aggregator.admits('a.3')).toBe(false);
    expect(r.aggregator.addGraphite(g('a.3', 1201, 1))).toBe(false);
    expect(r.aggregator.addGraphite(g('a.1', 1202, 2))).toBe(true);
    expect(r.metrics.value('aggregator_series_refused_total')).toBe(1);
    expect(r.aggregator.seriesBytes).toBe(budget);
    r.tickAt(1215);
    expect(r.sink.point(10, 1200, 'a.1')?.sum).toBe(3);
    expect(r.sink.point(10, 1200, 'a.3')).toBeUndefined();
  });

  it('forgets a series silent for series_idle_timeout once no window holds it, and reuses the room', () => {
    const budget = seriesNameCost('idle.a') + seriesNameCost('idle.b');
    const r = rig({ times: ['10s:1h', '1m:1d'], maxSeriesBytes: budget, seriesIdleSeconds: 120 });
    r.aggregator.addGraphite(g('idle.a', 1201, 1));
    r.aggregator.addGraphite(g('idle.b', 1201, 1));
    expect(r.aggregator.admits('idle.c')).toBe(false);
    // idle.b keeps sending; idle.a falls silent.
    for (let t = 1215; t <= 1400; t += 10) {
      r.aggregator.addGraphite(g('idle.b', t - 5, 1));
      r.tickAt(t);
    }
    expect([...r.aggregator.seriesNames()]).toEqual(['idle.b']);
    expect(r.metrics.value('aggregator_series_forgotten_total')).toBe(1);
    expect(r.aggregator.admits('idle.c')).toBe(true);
    // The freed id serves the new series; its windows hold only its own points.
    r.aggregator.addGraphite(g('idle.c', 1401, 7));
    r.tickAt(1425);
    expect(r.sink.point(10, 1400, 'idle.c')?.sum).toBe(7);
    expect(r.sink.point(10, 1400, 'idle.a')).toBeUndefined();
    // Every minute window idle.a had a point in was written before it was forgotten.
    expect(r.sink.point(60, 1200, 'idle.a')?.sum).toBe(1);
  });
});
