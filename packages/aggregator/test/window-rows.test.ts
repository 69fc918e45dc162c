import { describe, expect, it } from 'vitest';
import { addSample, batchPoint, mergeStatPoint, parseResolutions, windowStart, type StatPoint } from '@carillon/core';
import { mulberry32 } from '../../../test/support/random.js';
import { WindowTable } from '../src/window-table.js';
import { rig } from './helpers.js';

/**
 * The window rows' narrow columns (timestamps as offsets from the window start in 8, 16 or 32 bits, counts in 8,
 * 16, 32 or 64 bits, one-point rows of the finest windows as one value, row ids found from `rowOf` once a table
 * is dense) against an oracle: every (series, window) written,
 * amends merged in, equals every accepted sample of that window folded in arrival order (core addSample).
 */
const key = (step: number, time: number, name: string): string => `${step}@${time}@${name}`;

/** `forgets`: at least this many series are forgotten and re-sent (an open one-day window holds every series). */
function run(times: string[], startSeconds: number, seed: number, forgets: number): void {
  const resolutions = parseResolutions(times);
  const r = rig({ times, maxLatenessSeconds: 1800, seriesIdleSeconds: 120 }, {}, startSeconds);
  const random = mulberry32(seed);
  const int = (n: number): number => Math.floor(random() * n);
  // Dyadic values (and some near 2^40): every sum is exact whatever the order of its terms.
  const value = (): number => (random() < 0.05 ? 2 ** 40 + int(1000) : (int(8001) - 4000) / 4);
  const expected = new Map<string, StatPoint>();
  const add = (name: string, timestamp: number): void => {
    const v = value();
    r.aggregator.addGraphite({ name, timestamp, value: v });
    for (const { step } of resolutions) {
      const time = windowStart(timestamp, step);
      const k = key(step, time, name);
      let point = expected.get(k);
      if (point === undefined) {
        point = { time, min: 0, max: 0, sum: 0, first: 0, last: 0, count: 0 };
        expected.set(k, point);
      }
      addSample(point, v, timestamp);
    }
  };
  const steady = Array.from({ length: 12 }, (_, i) => `steady.s${i}`);
  // Silent for ten minutes of every twenty: forgotten (series_idle_timeout 120 s), their ids reused, then re-sent.
  const phased = Array.from({ length: 12 }, (_, i) => `phased.p${i}`);
  // Arriving late in the run, on ids the phased series left.
  const newcomers = Array.from({ length: 12 }, (_, i) => `new.n${i}`);
  const ticks = 300;
  for (let tick = 0; tick < ticks; tick++) {
    const now = startSeconds + tick * 10;
    r.time.set(now * 1000);
    const active = [...steady];
    if (Math.floor(tick / 60) % 2 === 0) active.push(...phased);
    if (tick >= 90) active.push(...newcomers);
    for (const name of active) {
      // On time, out of order, repeated timestamps (ties of first and last), several points a window.
      const points = int(4);
      for (let p = 0; p < points; p++) add(name, now - int(10));
      if (int(3) === 0) add(name, now - int(4));
    }
    // Late points: amends of closed windows at every resolution (some for series forgotten since).
    for (let late = int(6); late > 0; late--) {
      const all = [...steady, ...phased, ...newcomers.slice(0, tick >= 90 ? 12 : 0)];
      add(all[int(all.length)]!, now - 15 - int(1500));
    }
    r.tickAt(now + 5);
  }
  r.aggregator.flushAll();

  expect(r.metrics.value('aggregator_series_forgotten_total')).toBeGreaterThanOrEqual(forgets);
  expect(r.metrics.value('aggregator_points_refused_total', 'too_old')).toBe(0);
  expect(r.metrics.value('aggregator_series_refused_total')).toBe(0);
  expect(r.metrics.value('aggregator_future_points_total')).toBe(0);
  expect(r.metrics.value('aggregator_late_points_total')).toBe(0);
  expect(r.metrics.value('aggregator_amended_points_total')).toBeGreaterThan(100);

  const written = new Map<string, StatPoint>();
  let amends = 0;
  for (const batch of r.sink.batches) {
    if (batch.amend !== undefined) amends++;
    for (let i = 0; i < batch.names.length; i++) {
      const k = key(batch.resolution.step, batch.time, batch.names[i]!);
      const point = batchPoint(batch, i);
      const stored = written.get(k);
      if (batch.amend === undefined) {
        expect(stored, `${k} written twice`).toBeUndefined();
        written.set(k, point);
      } else if (stored === undefined) written.set(k, point);
      else mergeStatPoint(stored, point);
    }
  }
  expect(amends).toBeGreaterThan(10);
  expect([...written.keys()].sort()).toEqual([...expected.keys()].sort());
  for (const [k, point] of expected) expect(written.get(k), k).toEqual(point);
}

describe('window rows against an oracle', () => {
  it('are exact for every (series, window) with steps up to 256 s (one-byte timestamps)', () => {
    run(['10s:1h', '1m:1d', '5m:7d'], 1200, 1, 30);
  });

  it('are exact with two- and four-byte timestamps (10 min and one-day windows), across midnight', () => {
    // Start 40 minutes before a day's end, so the one-day window closes (and is amended) during the run.
    run(['10s:2h', '10m:1d', '1d:30d'], 20 * 86400 - 2400, 2, 1);
  });
});

describe('a window table', () => {
  it('lists its rows in order of arrival, dense (ids found from rowOf) or sparse again after the ids grew', () => {
    const table = new WindowTable(1200, 1210, 16);
    // Two rows of 16 ids: dense. Id 1000 grows rowOf to 1024: sparse again. Then enough rows to be dense again.
    const ids = [3, 0, 1000, 7, ...Array.from({ length: 200 }, (_, i) => 1001 + i * 3), 5, 1];
    const expected = new Map<number, StatPoint>();
    const add = (id: number, value: number, timestamp: number): void => {
      table.add(id, value, timestamp);
      const point = expected.get(id) ?? { time: 1200, min: 0, max: 0, sum: 0, first: 0, last: 0, count: 0 };
      addSample(point, value, timestamp);
      expected.set(id, point);
    };
    ids.forEach((id, i) => add(id, i, 1200 + (i % 10)));
    add(1000, -1, 1200);
    add(7, -2, 1209);
    const batch = table.toBatch(
      parseResolutions(['10s:1h'])[0]!,
      (id) => `s${id}`,
      () => undefined,
    );
    expect(batch.names).toEqual(ids.map((id) => `s${id}`));
    ids.forEach((id, i) => expect(batchPoint(batch, i), `s${id}`).toEqual(expected.get(id)));
  });

  it('keeps a count exact past 2^32 points (the column widens)', () => {
    const table = new WindowTable(600, 1200, 4);
    const big = 2 ** 32 + 5;
    const point: StatPoint = { time: 600, min: 1, max: 2, sum: 3, first: 1, last: 2, count: 2 ** 32 - 1 };
    table.write(0, point);
    table.write(1, { ...point, count: 3 });
    table.add(0, 7, 1199); // count 2^32: past Uint32
    table.write(2, { ...point, count: big, firstTime: 601, lastTime: 1199 });
    const read = (id: number): StatPoint => {
      const into: StatPoint = { time: 0, min: 0, max: 0, sum: 0, first: 0, last: 0, count: 0 };
      expect(table.read(id, into)).toBe(true);
      return into;
    };
    expect(read(0)).toEqual({ ...point, max: 7, sum: 10, last: 7, count: 2 ** 32, firstTime: 600, lastTime: 1199 });
    expect(read(1).count).toBe(3);
    expect(read(2)).toEqual({ ...point, count: big, firstTime: 601, lastTime: 1199 });
    const batch = table.toBatch(
      parseResolutions(['10m:1d'])[0]!,
      (id) => `s${id}`,
      () => undefined,
    );
    expect(batch.names).toEqual(['s0', 's1', 's2']);
    expect([0, 1, 2].map((i) => batchPoint(batch, i).count)).toEqual([2 ** 32, 3, big]);
  });

  it('of singles or not: every row as its samples folded (one value, full rows, counts up to 16 and 32 bits)', () => {
    const random = mulberry32(7);
    const int = (n: number): number => Math.floor(random() * n);
    for (const singles of [true, false]) {
      const table = new WindowTable(6000, 6600, 64, singles);
      const expected = new Map<number, StatPoint>();
      const order: number[] = [];
      const add = (id: number, value: number, timestamp: number): void => {
        table.add(id, value, timestamp);
        let point = expected.get(id);
        if (point === undefined) {
          point = { time: 6000, min: 0, max: 0, sum: 0, first: 0, last: 0, count: 0 };
          expected.set(id, point);
          order.push(id);
        }
        addSample(point, value, timestamp);
      };
      // Most series one point (-0 and a non-finite one among them), some a few, one past 255 and one past 65,535.
      for (let id = 0; id < 400; id++) {
        const points = id === 5 ? 300 : id === 9 ? 70_000 : int(3) === 0 ? 1 + int(5) : 1;
        for (let p = 0; p < points; p++) add(id, id === 3 ? -0 : (int(8001) - 4000) / 4, 6000 + int(600));
      }
      add(401, Infinity, 6001);
      const read = (id: number): StatPoint => {
        const into: StatPoint = { time: 0, min: 0, max: 0, sum: 0, first: 0, last: 0, count: 0 };
        expect(table.read(id, into)).toBe(true);
        return into;
      };
      for (const [id, point] of expected) expect(read(id), `${singles} s${id}`).toEqual(point);
      // Overwritten as a merge would: a one-point row with more, a full row with one, a full row with others.
      const merged = (count: number, v: number): StatPoint => ({
        time: 6000,
        min: v - 1,
        max: v + 1,
        sum: v * count,
        first: v,
        last: v + 1,
        count,
        firstTime: 6001,
        lastTime: 6599,
      });
      const single: StatPoint = {
        time: 6000,
        min: 2.5,
        max: 2.5,
        sum: 2.5,
        first: 2.5,
        last: 2.5,
        count: 1,
        firstTime: 6007,
        lastTime: 6007,
      };
      const one = order.find((id) => expected.get(id)!.count === 1)!;
      const many = order.filter((id) => expected.get(id)!.count > 1);
      for (const [id, point] of [
        [one, merged(4, 3)],
        [many[0]!, single],
        [many[1]!, merged(7, -2)],
      ] as const) {
        table.write(id, point);
        expected.set(id, point);
      }
      add(many[0]!, 11, 6599); // a row written back to one point takes points again
      const batch = table.toBatch(
        parseResolutions(['10m:1d'])[0]!,
        (id) => `s${id}`,
        () => undefined,
      );
      const kept = order.filter((id) => id !== 401);
      expect(batch.names).toEqual(kept.map((id) => `s${id}`));
      kept.forEach((id, i) => expect(batchPoint(batch, i), `${singles} s${id}`).toEqual(expected.get(id)));
    }
  });
});
