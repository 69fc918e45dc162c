/** Amends in the whisper store: a late StatPoint merged into a stored slot exactly, for every aggregation method. */
import { describe, expect, it } from 'vitest';
import {
  makeBatch,
  mergeStatPoint,
  MetricsRegistry,
  nowSeconds,
  parseResolutions,
  valueOf,
  windowStart,
  type AggregationMethod,
  type StatPoint,
} from '@carillon/core';
import { WhisperStore } from '@carillon/writers';
import { useTempDir } from '../../../test/support/temp-dir.js';

const dataDir = useTempDir('whisper-amend');
const [fine] = parseResolutions(['10s:1h', '1m:1d']);

function timed(time: number, samples: [number, number][]): StatPoint {
  const point: StatPoint = { time, min: 0, max: 0, sum: 0, first: 0, last: 0, count: 0 };
  for (const [t, v] of samples) {
    if (point.count === 0) Object.assign(point, { min: v, max: v, sum: 0, first: v, firstTime: t, lastTime: t });
    point.min = Math.min(point.min, v);
    point.max = Math.max(point.max, v);
    point.sum += v;
    if (t < point.firstTime!) [point.first, point.firstTime] = [v, t];
    if (t >= point.lastTime!) [point.last, point.lastTime] = [v, t];
    point.count++;
  }
  return point;
}

// Names chosen so the default rules pick each method.
const byMethod: [AggregationMethod, string][] = [
  ['average', 'app.latency'],
  ['sum', 'app.requests'],
  ['min', 'app.lower'],
  ['max', 'app.upper'],
  ['last', 'gauges.level'],
];

describe('WhisperStore amends', () => {
  it('merges late points into stored windows exactly, by method (last by timestamp, ties to the late point)', async () => {
    const metrics = new MetricsRegistry();
    const store = new WhisperStore(
      { dataDir: dataDir(), resolutions: parseResolutions(['10s:1h', '1m:1d']) },
      { metrics },
    );
    const time = windowStart(nowSeconds(), 10) - 600;
    const stored = timed(time, [
      [time + 3, 7],
      [time + 1, 2],
      [time + 6, 4],
    ]);
    const lates = [
      timed(time, [[time + 8, 1]]), // a new last
      timed(time, [[time + 2, 100]]), // inside the span: neither first nor last
      timed(time, [[time + 8, -5]]), // ties the last timestamp: the later arrival is last
    ];
    await store.write(
      makeBatch(
        fine!,
        time,
        byMethod.map(([, name]) => [name, stored]),
      ),
    );
    const expected = { ...stored };
    for (const late of lates) {
      await store.write(
        makeBatch(
          fine!,
          time,
          byMethod.map(([, name]) => [name, late]),
          { heldFrom: time + 600 },
        ),
      );
      mergeStatPoint(expected, late);
    }
    for (const [method, name] of byMethod)
      expect([method, (await store.fetch(name, fine!, time, time + 10))[0]]).toEqual([
        method,
        valueOf(expected, method),
      ]);
    expect(expected).toMatchObject({ count: 6, last: -5 });
    await store.close();
    // Reopened, the sidecar still holds what the next amend needs.
    const again = new WhisperStore({ dataDir: dataDir(), resolutions: parseResolutions(['10s:1h', '1m:1d']) });
    const late = timed(time, [[time + 9, 50]]);
    await again.write(makeBatch(fine!, time, [['app.latency', late]], { heldFrom: time + 600 }));
    mergeStatPoint(expected, late);
    expect((await again.fetch('app.latency', fine!, time, time + 10))[0]).toBe(valueOf(expected, 'average'));
    await again.close();
  });

  it('stores an amend of an empty window as the window, and refuses (counted) one whose numbers are not kept', async () => {
    const metrics = new MetricsRegistry();
    const dir = dataDir();
    const resolutions = parseResolutions(['10s:1h', '1m:1d']);
    const time = windowStart(nowSeconds(), 10) - 300;
    // Written with amends off: no sidecar numbers kept for the average file.
    const plain = new WhisperStore({ dataDir: dir, resolutions, maxLatenessSeconds: 0 });
    await plain.write(makeBatch(fine!, time, [['app.latency', timed(time, [[time, 4]])]]));
    await plain.close();
    const store = new WhisperStore({ dataDir: dir, resolutions }, { metrics });
    const late = timed(time, [[time + 1, 8]]);
    await store.write(makeBatch(fine!, time, [['app.latency', late]], { heldFrom: time + 300 }));
    await store.write(makeBatch(fine!, time + 10, [['app.latency', late]], { heldFrom: time + 300 }));
    expect(await store.fetch('app.latency', fine!, time, time + 20)).toEqual([4, 8]);
    expect(metrics.value('whisper_points_dropped_total', 'amend_without_stats')).toBe(1);
    await store.close();
  });
});
