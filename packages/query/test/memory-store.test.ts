import { describe, expect, it } from 'vitest';
import { makeBatch, MetricsRegistry, parseResolutions } from '@carillon/core';
import { MemoryStore } from '@carillon/query';
import { pointOfSamples as point } from '../../../test/support/stat-points.js';

const [tenSeconds, oneMinute] = parseResolutions(['10s:1h', '1m:1d']) as [
  ReturnType<typeof parseResolutions>[number],
  ReturnType<typeof parseResolutions>[number],
];

describe('MemoryStore', () => {
  it('merges an amend into the stored window, first/last by timestamp, and stores an amend of an empty window', async () => {
    const store = new MemoryStore({ now: () => 10_000 });
    const stored = { time: 9000, min: 2, max: 6, sum: 8, first: 2, last: 6, count: 2, firstTime: 9003, lastTime: 9008 };
    await store.write(makeBatch(tenSeconds, 9000, [['a', stored]]));
    const late = { time: 9000, min: 1, max: 1, sum: 1, first: 1, last: 1, count: 1, firstTime: 9001, lastTime: 9001 };
    await store.write(makeBatch(tenSeconds, 9000, [['a', late]], { heldFrom: 9990 }));
    await store.write(makeBatch(tenSeconds, 9010, [['a', late]], { heldFrom: 9990 }));
    expect(store.statPoints('a', tenSeconds, 9000, 9020)).toEqual([
      { time: 9000, min: 1, max: 6, sum: 9, first: 1, last: 6, count: 3, firstTime: 9001, lastTime: 9008 },
      { ...late, time: 9010 },
    ]);
    // A plain write still replaces.
    await store.write(makeBatch(tenSeconds, 9000, [['a', late]]));
    expect(store.statPoints('a', tenSeconds, 9000, 9010)).toEqual([late]);
  });

  it('reads back flushed StatPoints reduced by each series aggregation method', async () => {
    let now = 10_000;
    const store = new MemoryStore({ now: () => now });
    await store.write(
      makeBatch(tenSeconds, 9000, [
        ['app.latency', point(9000, [1, 2, 6])],
        ['app.requests.count', point(9000, [1, 2, 6])],
        ['app.latency.max', point(9000, [1, 2, 6])],
        ['gauges.queue', point(9000, [1, 2, 6])],
      ]),
    );
    await store.write(makeBatch(tenSeconds, 9020, [['app.latency', point(9020, [4])]]));
    now = 9100;
    expect(await store.fetch('app.latency', tenSeconds, 9000, 9040)).toEqual([3, null, 4, null]);
    expect(await store.fetch('app.requests.count', tenSeconds, 9000, 9010)).toEqual([9]);
    expect(await store.fetch('app.latency.max', tenSeconds, 9000, 9010)).toEqual([6]);
    expect(await store.fetch('gauges.queue', tenSeconds, 9000, 9010)).toEqual([6]);
    expect(await store.fetch('app.latency', oneMinute, 8940, 9060)).toEqual([null, null]);
    expect(await store.fetch('unknown', tenSeconds, 9000, 9020)).toEqual([null, null]);
    expect(store.points).toBe(5);
  });

  it('replaces a rewritten window and accepts windows out of order', async () => {
    const store = new MemoryStore({ now: () => 9100 });
    await store.write(makeBatch(tenSeconds, 9020, [['a', point(9020, [2])]]));
    await store.write(makeBatch(tenSeconds, 9000, [['a', point(9000, [1])]]));
    await store.write(makeBatch(tenSeconds, 9010, [['a', point(9010, [5])]]));
    await store.write(makeBatch(tenSeconds, 9010, [['a', point(9010, [7])]]));
    expect(await store.fetch('a', tenSeconds, 9000, 9030)).toEqual([1, 7, 2]);
    expect(store.points).toBe(3);
  });

  it('drops points older than their resolution TTL, on write and on read', async () => {
    let now = 10_000;
    const metrics = new MetricsRegistry();
    const store = new MemoryStore({ now: () => now, metrics, sweepInterval: 1 });
    await store.write(makeBatch(tenSeconds, 10_000 - 3600 - 10, [['a', point(0, [1])]]));
    expect(store.expired).toBe(1);
    await store.write(makeBatch(tenSeconds, 9000, [['a', point(9000, [1])]]));
    await store.write(makeBatch(oneMinute, 9000, [['a', point(9000, [1])]]));
    now = 9000 + 3601;
    // past the 10s TTL but not the 1m one
    expect(await store.fetch('a', tenSeconds, 9000, 9010)).toEqual([null]);
    expect(await store.fetch('a', oneMinute, 9000, 9060)).toEqual([1]);
    await store.write(makeBatch(oneMinute, 12_600, [['b', point(12_600, [1])]]));
    expect(store.points).toBe(2);
    expect(store.expired).toBe(2);
    expect(metrics.value('memory_store_expired_points_total')).toBe(2);
  });

  it('evicts the oldest points past maxPoints and counts them', async () => {
    const metrics = new MetricsRegistry();
    const store = new MemoryStore({ now: () => 10_000, maxPoints: 10, metrics });
    for (let t = 9000; t < 9110; t += 10) {
      await store.write(
        makeBatch(tenSeconds, t, [
          ['a', point(t, [t])],
          ['b', point(t, [-t])],
        ]),
      );
    }
    // 22 writes, each over 10 evicts down to 9
    expect(store.points).toBeLessThanOrEqual(10);
    expect(store.evicted).toBe(22 - store.points);
    expect(metrics.value('memory_store_evicted_points_total')).toBe(store.evicted);
    const a = await store.fetch('a', tenSeconds, 9000, 9110);
    const b = await store.fetch('b', tenSeconds, 9000, 9110);
    // what is left is the newest windows: older windows are gone from both series, newer ones kept in both
    expect(a.at(-1)).toBe(9100);
    expect(b.at(-1)).toBe(-9100);
    const firstKept = a.findIndex((v, i) => v !== null || b[i] !== null);
    for (let i = 0; i < a.length; i++) {
      if (i < firstKept) expect([a[i], b[i]]).toEqual([null, null]);
      if (i > firstKept) expect([a[i], b[i]]).toEqual([9000 + i * 10, -(9000 + i * 10)]);
    }
    expect(a.slice(0, 5)).toEqual([null, null, null, null, null]);
  });
});
