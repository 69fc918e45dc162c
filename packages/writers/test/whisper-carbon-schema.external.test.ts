/**
 * Files with carbon's archive schemas, not carillon's resolutions, checked by difference against python's whisper:
 * the same file is created twice by whisper itself; carillon's store writes its windows into one, whisper's
 * update_many writes what carbon would have written into the other (the same values, one point at a time, as
 * carbon-cache sends them), and the two files must be byte for byte the same, lower archives (fed by whisper's
 * propagation with the file's method and xFilesFactor) included.
 */
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  makeBatch,
  MetricsRegistry,
  nowSeconds,
  parseResolutions,
  valueOf,
  windowStart,
  type AggregationMethod,
  type Resolution,
  type StatPoint,
} from '@carillon/core';
import { WhisperStore } from '@carillon/writers';
import { pythonFetch, pythonWhisper } from './whisper-tools.js';

// The fine retention covers the test's hours: the store drops windows older than their own resolution keeps.
const resolutions = parseResolutions(['10s:6h', '1m:1d', '10m:30d']);
const [fine, mid, coarse] = resolutions as [Resolution, Resolution, Resolution];

function statAt(time: number, k: number): StatPoint {
  return { time, min: k - 3, max: k + 9, sum: 4 * k + 2, first: k - 1, last: k + 0.5, count: 4 };
}

const CASES: {
  title: string;
  archives: [number, number][];
  method: AggregationMethod | 'avg_zero';
  xff: number;
  /** Our resolution whose windows carbon would have received at the file's finest archive. */
  feeds: Resolution;
}[] = [
  {
    title: '60s:1d,1h:30d average, xff 0.5',
    archives: [
      [60, 1440],
      [3600, 720],
    ],
    method: 'average',
    xff: 0.5,
    feeds: mid,
  },
  {
    title: '60s:1d,1h:30d sum, xff 0',
    archives: [
      [60, 1440],
      [3600, 720],
    ],
    method: 'sum',
    xff: 0,
    feeds: mid,
  },
  {
    title: '15s:1d,5m:7d,1h:30d max, xff 0.3',
    archives: [
      [15, 5760],
      [300, 2016],
      [3600, 720],
    ],
    method: 'max',
    xff: 0.3,
    feeds: fine,
  },
  {
    title: '60s:1d,1h:30d avg_zero, xff 0.8',
    archives: [
      [60, 1440],
      [3600, 720],
    ],
    method: 'avg_zero',
    xff: 0.8,
    feeds: mid,
  },
];

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'carillon-carbon-schema-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('carbon-schema whisper files', () => {
  const now = nowSeconds();
  // Two hours of windows ending ten minutes ago, with holes so that xFilesFactor decides some hours.
  const start = windowStart(now - 3 * 3600, 3600);
  const skip = (time: number): boolean =>
    Math.floor(time / 60) % 7 === 3 || (time >= start + 3600 && time < start + 5400);

  for (const c of CASES)
    it(`${c.title}: carillon writes what whisper's update and propagation write`, async () => {
      const caseDir = join(dir, c.title.replace(/[^a-z0-9]+/gi, '_'));
      const ours = join(caseDir, 'carbon', 'ours.wsp');
      const theirs = join(caseDir, 'theirs.wsp');
      for (const path of [ours, theirs]) {
        await mkdir(dirname(path), { recursive: true });
        pythonWhisper({ op: 'create', path, archives: c.archives, xFilesFactor: c.xff, aggregationMethod: c.method });
      }
      const metrics = new MetricsRegistry();
      const store = new WhisperStore({ dataDir: caseDir, resolutions }, { metrics, clock: () => now });
      const carbonPoints: [number, number][] = [];
      let k = 0;
      // Every resolution is flushed, as the aggregator does; the file takes what its archives fit.
      for (let time = start; time < now - 600; time += fine.step) {
        k++;
        for (const resolution of [fine, mid, coarse]) {
          if (time % resolution.step !== 0 || skip(time)) continue;
          const point = statAt(time, k);
          await store.write(makeBatch(resolution, time, [['carbon.ours', point]]));
          if (resolution === c.feeds)
            carbonPoints.push([time, valueOf(point, c.method === 'avg_zero' ? 'average' : c.method)]);
        }
      }
      await store.close();
      pythonWhisper({ op: 'update_each', path: theirs, points: carbonPoints, now });
      expect(carbonPoints.length).toBeGreaterThan(100);
      expect(metrics.render()).not.toMatch(/whisper_points_dropped_total\{reason="(error|outside_retention)"\} [1-9]/);
      expect(metrics.value('whisper_points_written_total')).toBe(carbonPoints.length);
      // Every archive, as whisper reads it back, and the bytes themselves.
      for (let archive = 0; archive < c.archives.length; archive++) {
        const read = (path: string) => pythonFetch(path, start - 3600, now, now, c.archives[archive]![0]);
        const fetched = read(ours);
        expect(fetched).toEqual(read(theirs));
        expect(fetched?.[1].some((v) => v !== null)).toBe(true);
      }
      expect((await readFile(ours)).equals(await readFile(theirs))).toBe(true);
    });
});
