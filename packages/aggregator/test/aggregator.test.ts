import { describe, expect, it } from 'vitest';
import { mergeStatPoint, type StatPoint } from '@carillon/core';
import { point, rig, statsdSample } from './helpers.js';

const g = (name: string, timestamp: number, value: number) => ({ name, timestamp, value });

describe('windows at the finest resolution', () => {
  it('aggregates a window with first and last by timestamp, and flushes it once end + grace has passed', () => {
    const r = rig();
    r.aggregator.addGraphiteBatch([g('a', 1203, 3), g('a', 1207, 2), g('a', 1201, 4), g('a', 1209, 5)]);
    r.aggregator.addGraphite(g('b', 1212, 10));
    r.tickAt(1214);
    expect(r.sink.batches).toEqual([]);
    r.tickAt(1215);
    expect(r.sink.order()).toEqual(['10@1200']);
    expect(r.sink.batches[0]!.names).toEqual(['a']);
    expect(r.sink.timedPoint(10, 1200, 'a')).toEqual({
      time: 1200,
      min: 2,
      max: 5,
      sum: 14,
      first: 4,
      last: 5,
      count: 4,
      firstTime: 1201,
      lastTime: 1209,
    });
  });

  it('breaks first/last ties by arrival: the earliest arrival is first, the latest last', () => {
    const r = rig();
    r.aggregator.addGraphiteBatch([g('a', 1205, 1), g('a', 1205, 2), g('a', 1201, 3), g('a', 1201, 4)]);
    r.tickAt(1215);
    expect(r.sink.timedPoint(10, 1200, 'a')).toMatchObject({ first: 3, firstTime: 1201, last: 2, lastTime: 1205 });
  });

  it('amends a flushed window with a late point, in its own window only, and the open coarser one', () => {
    const r = rig();
    r.aggregator.addGraphite(g('a', 1201, 1));
    r.tickAt(1215);
    r.aggregator.addGraphite(g('a', 1209, 99));
    r.aggregator.addGraphite(g('a', 1210, 2));
    expect(r.metrics.value('aggregator_late_points_total')).toBe(0);
    expect(r.metrics.value('aggregator_amended_points_total')).toBe(1);
    r.tickAt(1225);
    expect(r.sink.order()).toEqual(['10@1200', '10@1210', '10@1200']);
    expect(r.sink.batches[2]!.amend).toEqual({ heldFrom: 1210 });
    expect(r.sink.merged(10, 1200, 'a')).toEqual({ ...point(1200, [1, 99]), firstTime: 1201, lastTime: 1209 });
    expect(r.sink.point(10, 1210, 'a')).toEqual(point(1210, [2]));
    for (let t = 1235; t <= 1505; t += 10) r.tickAt(t);
    // The minute and five minutes were open: the late point joined them as if on time, no amend for them.
    expect(r.sink.batches.filter((b) => b.amend !== undefined)).toHaveLength(1);
    expect(r.sink.point(60, 1200, 'a')).toEqual(point(1200, [1, 99, 2]));
    expect(r.sink.point(300, 1200, 'a')).toEqual(point(1200, [1, 99, 2]));
    expect(r.metrics.value('aggregator_points_total', 'graphite')).toBe(2);
  });

  it('amends windows closed at every resolution when the coarser ones are closed too', () => {
    const r = rig({ maxFutureSeconds: 120 });
    r.aggregator.addGraphiteBatch([g('a', 1201, 5), g('a', 1262, 6)]);
    for (let t = 1205; t <= 1515; t += 10) r.tickAt(t);
    const before = r.sink.batches.length;
    r.aggregator.addGraphite(g('a', 1200, 7)); // earlier than the stored first (1201): the new first
    r.aggregator.addGraphite(g('a', 1201, 8)); // ties 1201: the stored 5 stays first, 8 is not last
    r.tickAt(1525);
    const amends = r.sink.batches.slice(before);
    expect(amends.map((b) => `${b.resolution.step}@${b.time}`)).toEqual(['10@1200', '60@1200', '300@1200']);
    for (const step of [10, 60])
      expect(r.sink.merged(step, 1200, 'a')).toEqual({
        time: 1200,
        min: 5,
        max: 8,
        sum: 20,
        first: 7,
        last: 8,
        count: 3,
        firstTime: 1200,
        lastTime: 1201,
      });
    expect(r.sink.merged(300, 1200, 'a')).toEqual({
      time: 1200,
      min: 5,
      max: 8,
      sum: 26,
      first: 7,
      last: 6,
      count: 4,
      firstTime: 1200,
      lastTime: 1262,
    });
  });

  it('refuses points older than max_lateness as too_old and amends younger ones', () => {
    const r = rig({ maxLatenessSeconds: 60 }); // now 1200, grace 5: windows from 1190 on are open
    expect(r.aggregator.addGraphite(g('a', 1139, 1))).toBe(false);
    expect(r.aggregator.refusalOf(1139, 'graphite')).toBe('too_old');
    expect(r.aggregator.addGraphite(g('a', 1140, 1))).toBe(true);
    expect(r.aggregator.addGraphite(g('a', 1190, 1))).toBe(true);
    expect(r.metrics.value('aggregator_points_refused_total', 'too_old')).toBe(1);
    expect(r.metrics.value('aggregator_amended_points_total')).toBe(1);
    expect(r.metrics.value('aggregator_points_total', 'graphite')).toBe(1);
  });

  it('counts points beyond max_future as future and drops them', () => {
    const r = rig({ maxFutureSeconds: 60 });
    r.aggregator.addGraphite(g('a', 1261, 1));
    r.aggregator.addGraphite(g('a', 1260, 2));
    expect(r.metrics.value('aggregator_future_points_total')).toBe(1);
    expect(r.aggregator.pending('a', r.aggregator.resolutions[0]!, 0, 2000)).toEqual([point(1260, [2])]);
  });
});

describe('only finite values', () => {
  it('refuses a window whose sum overflows, counted, and flushes the other series', () => {
    const r = rig();
    r.aggregator.addGraphiteBatch([g('big', 1201, 1e308), g('big', 1202, 1e308), g('ok', 1203, 1)]);
    r.tickAt(1215);
    expect(r.sink.batches[0]!.names).toEqual(['ok']);
    expect(r.sink.point(10, 1200, 'ok')).toEqual(point(1200, [1]));
    expect(r.metrics.value('aggregator_points_refused_total', 'non_finite')).toBe(1);
  });
});

describe('coarser resolutions', () => {
  it('are exact merges of finer windows in time order, flushed at their own end + grace', () => {
    const r = rig();
    const samples = [g('a', 1200, 1), g('a', 1215, 7), g('a', 1230, -2), g('a', 1259, 4), g('a', 1260, 100)];
    r.aggregator.addGraphiteBatch(samples);
    for (let t = 1205; t <= 1505; t += 10) r.tickAt(t);
    expect(r.sink.order()).toEqual([
      '10@1200',
      '10@1210',
      '10@1230',
      '10@1250',
      '60@1200',
      '10@1260',
      '60@1260',
      '300@1200',
    ]);
    expect(r.sink.point(60, 1200, 'a')).toEqual({ time: 1200, min: -2, max: 7, sum: 10, first: 1, last: 4, count: 4 });
    expect(r.sink.point(60, 1260, 'a')).toEqual(point(1260, [100]));
    expect(r.sink.point(300, 1200, 'a')).toEqual({
      time: 1200,
      min: -2,
      max: 100,
      sum: 110,
      first: 1,
      last: 100,
      count: 5,
    });
    // The same as merging the 10s points with core's mergeStatPoint.
    const merged: StatPoint = { time: 1200, min: 0, max: 0, sum: 0, first: 0, last: 0, count: 0 };
    for (const t of [1200, 1210, 1230, 1250, 1260]) mergeStatPoint(merged, r.sink.point(10, t, 'a')!);
    expect(r.sink.point(300, 1200, 'a')).toEqual(merged);
  });

  it('closes windows missed by a stalled ticker in time order at the next tick', () => {
    const r = rig();
    r.aggregator.addGraphiteBatch([g('a', 1201, 1), g('a', 1222, 2), g('a', 1245, 3)]);
    r.tickAt(1270);
    expect(r.sink.order()).toEqual(['10@1200', '10@1220', '10@1240', '60@1200']);
  });
});

describe('overload policy', () => {
  it('skips flushes while the sink is overloaded, logs once, then sends the pending windows in time order', () => {
    const r = rig();
    r.sink.isOverloaded = true;
    r.aggregator.addGraphiteBatch([g('a', 1201, 1), g('a', 1211, 2), g('a', 1221, 3)]);
    r.tickAt(1215);
    r.tickAt(1225);
    r.tickAt(1235);
    expect(r.sink.batches).toEqual([]);
    expect(r.metrics.value('aggregator_flushes_skipped_total')).toBe(3);
    expect(r.aggregator.pendingPoints).toBe(3);
    expect(r.messages.filter((m) => m.startsWith('sink overloaded'))).toHaveLength(1);
    r.sink.isOverloaded = false;
    r.tickAt(1245);
    expect(r.sink.order()).toEqual(['10@1200', '10@1210', '10@1220']);
    expect(r.metrics.value('aggregator_flushes_total')).toBe(1);
    expect(r.aggregator.pendingPoints).toBe(0);
    expect(r.messages.filter((m) => m.startsWith('sink recovered'))).toHaveLength(1);
    r.sink.isOverloaded = true;
    r.aggregator.addGraphite(g('a', 1245, 4));
    r.tickAt(1255);
    expect(r.messages.filter((m) => m.startsWith('sink overloaded'))).toHaveLength(2);
  });

  it('past max_pending_points drops the oldest pending windows and counts windows and points exactly', () => {
    const r = rig({ maxPendingPoints: 5 });
    r.sink.isOverloaded = true;
    for (const t of [1201, 1211, 1221]) r.aggregator.addGraphiteBatch(['x', 'y', 'z'].map((n) => g(n, t, t)));
    r.tickAt(1215); // 3 pending
    expect(r.metrics.value('aggregator_windows_dropped_total')).toBe(0);
    r.tickAt(1225); // 6 > 5: the 1200 window goes
    expect(r.metrics.value('aggregator_windows_dropped_total')).toBe(1);
    expect(r.metrics.value('aggregator_points_dropped_total')).toBe(3);
    r.tickAt(1235); // 6 > 5 again: the 1210 window goes
    expect(r.metrics.value('aggregator_windows_dropped_total')).toBe(2);
    expect(r.metrics.value('aggregator_points_dropped_total')).toBe(6);
    expect(r.aggregator.pendingPoints).toBe(3);
    r.sink.isOverloaded = false;
    r.tickAt(1265);
    expect(r.sink.order()).toEqual(['10@1220', '60@1200']);
    // Dropped 10s windows had already been merged into the minute: it still holds every point.
    expect(r.sink.point(60, 1200, 'x')).toEqual(point(1200, [1201, 1211, 1221]));
  });

  it('flushAll writes every open window at every resolution, even to an overloaded sink', () => {
    const r = rig();
    r.sink.isOverloaded = true;
    r.aggregator.addGraphiteBatch([g('a', 1201, 1), g('a', 1212, 2)]);
    r.tickAt(1215);
    r.aggregator.flushAll();
    expect(r.sink.order()).toEqual(['10@1200', '10@1210', '60@1200', '300@1200']);
    expect(r.sink.point(300, 1200, 'a')).toEqual(point(1200, [1, 2]));
    r.aggregator.addGraphite(g('a', 1213, 3));
    expect(r.metrics.value('aggregator_amended_points_total')).toBe(1);
    r.aggregator.flushAll();
    expect(r.sink.order().slice(4)).toEqual(['10@1210', '60@1200', '300@1200']);
    expect(r.sink.merged(300, 1200, 'a')).toMatchObject(point(1200, [1, 2, 3]));
  });
});

describe('reads of pending windows', () => {
  it('returns closed-but-unsent and open windows, and the partial merge so far for coarser resolutions', () => {
    const r = rig();
    const [tenSeconds, minute, fiveMinutes] = r.aggregator.resolutions;
    r.sink.isOverloaded = true;
    r.aggregator.addGraphiteBatch([g('a', 1201, 1), g('a', 1212, 2), g('a', 1223, 3), g('b', 1201, 9)]);
    r.tickAt(1215); // 1200 closed but pending
    expect(r.aggregator.pending('a', tenSeconds!, 1200, 1300)).toEqual([
      point(1200, [1]),
      point(1210, [2]),
      point(1220, [3]),
    ]);
    expect(r.aggregator.pending('a', tenSeconds!, 1210, 1220)).toEqual([point(1210, [2])]);
    expect(r.aggregator.pending('a', minute!, 1200, 1260)).toEqual([point(1200, [1, 2, 3])]);
    expect(r.aggregator.pending('a', fiveMinutes!, 0, 2000)).toEqual([point(1200, [1, 2, 3])]);
    expect(r.aggregator.pending('a', minute!, 1260, 2000)).toEqual([]);
    expect(r.aggregator.pending('nope', minute!, 0, 2000)).toEqual([]);
    r.sink.isOverloaded = false;
    r.tickAt(1225);
    expect(r.aggregator.pending('a', tenSeconds!, 1200, 1300)).toEqual([point(1220, [3])]);
    expect(r.aggregator.pending('a', minute!, 1200, 1260)).toEqual([point(1200, [1, 2, 3])]);
  });
});

describe('series names', () => {
  it('lists every series and tells onNewSeries listeners once per new name, StatsD output included', () => {
    const r = rig();
    const seen: string[] = [];
    r.aggregator.onNewSeries((name) => seen.push(name));
    r.aggregator.addGraphiteBatch([g('a', 1201, 1), g('a', 1202, 1), g('b;env=prod', 1201, 1)]);
    r.aggregator.addStatsd(statsdSample('hits', 'c', 1));
    r.tickAt(1215);
    expect(seen).toEqual(['a', 'b;env=prod', 'stats.hits', 'stats_counts.hits']);
    expect([...r.aggregator.seriesNames()]).toEqual(seen);
    expect(r.metrics.value('aggregator_series')).toBe(4);
  });
});

describe('StatsD into the rollups', () => {
  it('puts each flush interval into the window it covered, by arrival time', () => {
    const r = rig({}, {}, 1203);
    r.aggregator.addStatsd(statsdSample('hits', 'c', 5));
    r.time.set(1212_000); // after the boundary, before the tick: counts in the next interval
    r.aggregator.addStatsd(statsdSample('hits', 'c', 3));
    r.tickAt(1215);
    expect(r.sink.point(10, 1200, 'stats.hits')).toEqual(point(1200, [0.5]));
    expect(r.sink.point(10, 1200, 'stats_counts.hits')).toEqual(point(1200, [5]));
    r.tickAt(1225);
    expect(r.sink.point(10, 1210, 'stats_counts.hits')).toEqual(point(1210, [3]));
    r.tickAt(1235);
    expect(r.sink.point(10, 1220, 'stats_counts.hits')).toEqual(point(1220, [0]));
    expect(r.metrics.value('aggregator_statsd_samples_total')).toBe(2);
  });
});

describe('replayed StatsD batches', () => {
  it('enter the interval of the given arrival time, and are late once that window closed', () => {
    const r = rig({}, {}, 1213);
    expect(r.aggregator.addStatsdBatch([statsdSample('hits', 'c', 5)], 1208)).toBe(true);
    expect(r.aggregator.addStatsdBatch([statsdSample('hits', 'c', 2)], 1213)).toBe(true);
    r.tickAt(1215);
    expect(r.sink.point(10, 1200, 'stats_counts.hits')).toEqual(point(1200, [5]));
    expect(r.aggregator.addStatsdBatch([statsdSample('hits', 'c', 7), statsdSample('x', 'c', 1)], 1209)).toBe(false);
    expect(r.metrics.value('aggregator_late_points_total')).toBe(2);
    expect(r.aggregator.addStatsdBatch([statsdSample('hits', 'c', 7)], 1215 + 61)).toBe(false);
    expect(r.metrics.value('aggregator_future_points_total')).toBe(1);
    r.tickAt(1225);
    expect(r.sink.point(10, 1210, 'stats_counts.hits')).toEqual(point(1210, [2]));
    expect(r.metrics.value('aggregator_statsd_samples_total')).toBe(2);
  });
});

describe('resuming after a restart', () => {
  it('accepts points from the watermark on, amends older ones, and never emits coarser windows begun before it', () => {
    // Restarted at 1262 (default lateness bound would be 1250); the last flushed finest window ended at 1230.
    const r = rig({}, {}, 1262);
    r.aggregator.resumeAfter(1230);
    expect(r.aggregator.addGraphite(g('a', 1229, 1))).toBe(true);
    expect(r.aggregator.addGraphite(g('a', 1230, 2))).toBe(true);
    expect(r.aggregator.addGraphite(g('a', 1262, 3))).toBe(true);
    expect(r.metrics.value('aggregator_amended_points_total')).toBe(1);
    r.tickAt(1265);
    expect(r.sink.order()).toEqual(['10@1230', '10@1220']);
    expect(r.sink.point(10, 1230, 'a')).toEqual(point(1230, [2]));
    r.aggregator.addGraphite(g('a', 1300, 4));
    for (let t = 1275; t <= 1325; t += 10) r.tickAt(t);
    // The minute 1200 lost 1200..1229 in the restart: dropped, not written partially. Minute 1260 is whole.
    expect(r.sink.order()).toEqual(['10@1230', '10@1220', '10@1260', '10@1300', '60@1260']);
    expect(r.sink.point(60, 1260, 'a')).toEqual(point(1260, [3, 4]));
    expect(r.aggregator.incompleteWindows).toEqual({ windows: 1, points: 1 });
  });

  it('does not flush StatsD intervals that ended before the watermark again', () => {
    const r = rig({}, {}, 1262);
    r.aggregator.resumeAfter(1250);
    r.aggregator.addStatsdBatch([statsdSample('hits', 'c', 1)], 1255);
    r.tickAt(1265);
    expect(r.sink.order()).toEqual(['10@1250']);
    expect(r.sink.point(10, 1250, 'stats_counts.hits')).toEqual(point(1250, [1]));
  });
});

describe('handedThrough', () => {
  it('is the end of the finest windows handed to the sink, and stays while flushes are skipped', () => {
    const r = rig();
    expect(r.aggregator.handedThrough).toBe(1190);
    r.aggregator.addGraphite(g('a', 1201, 1));
    r.tickAt(1215);
    expect(r.aggregator.handedThrough).toBe(1210);
    r.aggregator.addGraphite(g('a', 1211, 1));
    r.sink.isOverloaded = true;
    r.tickAt(1225);
    r.tickAt(1235);
    expect(r.aggregator.handedThrough).toBe(1210);
    r.sink.isOverloaded = false;
    r.tickAt(1245);
    expect(r.aggregator.handedThrough).toBe(1240);
  });
});
