/**
 * The render API with retention rules: each series is read at the finest of its own resolutions that reaches back
 * to `from` (as whisper's fetch picks from a file's archives), so two series of one render may have two steps, and
 * a series' pending windows are found by the `times` resolution of that step.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  makeBatch,
  parseResolutions,
  retentionRules,
  statPointOf,
  type PendingSource,
  type Resolution,
  type StatPoint,
} from '@carillon/core';
import { createGraphiteApi, MemoryStore, SeriesIndex } from '@carillon/query';

const NOW = 1_700_000_400;
const resolutions = parseResolutions(['10s:1h', '1m:1d']);
const [tenSeconds, oneMinute] = resolutions as [Resolution, Resolution];
const rules = retentionRules([{ pattern: /^coarse\./, times: ['1m:2d'], key: 'retention[0].times' }], resolutions);

const point = (time: number, value: number): StatPoint => statPointOf(time, value);

/** The aggregator's open windows, found by the resolution's index as the aggregator finds them. */
const pending: PendingSource = {
  pending: (name, resolution, from, until) =>
    name === 'coarse.a' && resolution.index === oneMinute.index && from <= NOW - 60 && NOW - 60 < until
      ? [point(NOW - 60, 8)]
      : [],
};

let server: Server;
let base: string;

beforeAll(async () => {
  // The memory store holds every resolution for every series; the rules decide which one a render reads.
  const store = new MemoryStore({ now: () => NOW });
  const index = new SeriesIndex();
  for (const name of ['coarse.a', 'fine.a']) index.add(name);
  for (const name of ['coarse.a', 'fine.a']) {
    await store.write(makeBatch(tenSeconds, NOW - 120, [[name, point(NOW - 120, 1)]]));
    await store.write(makeBatch(oneMinute, NOW - 120, [[name, point(NOW - 120, 2)]]));
  }
  const api = createGraphiteApi({ index, reader: store, pending, resolutions, retentionRules: rules, now: () => NOW });
  server = createServer((req, res) => void api(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

type Rendered = { target: string; datapoints: [number | null, number][] }[];

async function render(
  from: number,
): Promise<Record<string, { first: number; step: number; known: [number, number][] }>> {
  const response = await fetch(`${base}/render?format=json&target=*.a&from=${from}&until=${NOW}`);
  const body = (await response.json()) as Rendered;
  return Object.fromEntries(
    body.map((s) => [
      s.target,
      {
        first: s.datapoints[0]![1],
        step: s.datapoints[1]![1] - s.datapoints[0]![1],
        known: s.datapoints.flatMap(([v, t]) => (v === null ? [] : [[t, v] as [number, number]])),
      },
    ]),
  );
}

describe('renders with retention rules', () => {
  it("reads each series at its own rule's finest covering resolution, pending windows included", async () => {
    expect(await render(NOW - 600)).toEqual({
      'coarse.a': {
        first: NOW - 540,
        step: 60,
        known: [
          [NOW - 120, 2],
          [NOW - 60, 8],
        ],
      },
      'fine.a': { first: NOW - 590, step: 10, known: [[NOW - 120, 1]] },
    });
  });

  it("reaches back as far as the series' own retention", async () => {
    const from = NOW - 40 * 3600;
    const answer = await render(from);
    // The rule keeps 1 m for 2 d: the window starts after `from`, as whisper's fetch of such a file would.
    expect(answer['coarse.a']).toMatchObject({ first: from + 60, step: 60 });
    // times reach back 1 d only: clipped there.
    expect(answer['fine.a']).toMatchObject({ first: NOW - 86_400 + 60, step: 60, known: [[NOW - 120, 2]] });
  });
});
