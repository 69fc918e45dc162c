/**
 * What the late-point tests share: traffic with points 30 s, 10 min and 2 h old sent over TCP in two rounds (the
 * first amends windows nothing was stored for, the second merges into what the first stored: an earlier first, a
 * tie and a later last in each window), the oracle of every (key, resolution, window), and reading a running
 * program back through /render at each resolution.
 */
import {
  addSample,
  aggregationRuleFor,
  DEFAULT_AGGREGATION_RULES,
  parseResolutions,
  valueOf,
  windowStart,
  type Resolution,
  type StatPoint,
} from '@carillon/core';
import { getJson, getText, metricValue, sendTcp, type RenderedSeries } from '../e2e/programs.js';
import { sleep, waitFor } from '../support/wait.js';

/** 10 s kept 6 h (so 2 h old points are amendable at the finest resolution), 1 min a day, 10 min a week. */
export const LATE_TIMES = '10s:6h,1m:1d,10m:7d';
export const RESOLUTIONS = parseResolutions(LATE_TIMES.split(','));

/** One key per aggregation method (the default rules pick them by name). */
export const LATE_KEYS = [
  'late.cpu',
  'late.requests.count',
  'late.latency.max',
  'late.latency.lower',
  'gauges.late.level',
];

export const AGES = [30, 600, 7200];

interface Sample {
  key: string;
  time: number;
  value: number;
}

/** Every sample sent, in send order, and the oracle built from them. */
export class LateTraffic {
  readonly sent: Sample[] = [];

  constructor(readonly t0: number) {}

  /**
   * Round 0: on-time points now and, for each age, three points in the finest window that old (offsets 3, 5, 5);
   * round 1: the same windows again at offsets 1 (a new first), 5 (ties the stored last: this later arrival is
   * last) and 8 (a new last).
   */
  round(round: 0 | 1, now: number): string {
    const offsets = round === 0 ? [3, 5, 5] : [1, 5, 8];
    const lines: string[] = [];
    LATE_KEYS.forEach((key, k) => {
      const onTime = { key, time: now, value: 1000 + round * 10 + k };
      this.sent.push(onTime);
      lines.push(`${key} ${onTime.value} ${onTime.time}`);
      AGES.forEach((age, a) => {
        const window = windowStart(this.t0 - age, RESOLUTIONS[0]!.step);
        offsets.forEach((offset, o) => {
          // Distinct values, some negative and fractional, so every method sees a difference.
          const value = (round * 100 + a * 10 + o) * (k % 2 === 0 ? 1 : -1) + 0.25 * k;
          const sample = { key, time: window + offset, value };
          this.sent.push(sample);
          lines.push(`${key} ${value} ${sample.time}`);
        });
      });
    });
    return lines.map((l) => `${l}\n`).join('');
  }

  /** Points whose finest window was already closed when they arrived: every round's aged points. */
  get latePoints(): number {
    return this.sent.filter((s) => s.time < this.t0 - 20).length;
  }

  /** The StatPoint of every (key, resolution, window) as if every point had arrived in time. */
  oracle(): Map<string, StatPoint> {
    const points = new Map<string, StatPoint>();
    for (const sample of this.sent)
      for (const resolution of RESOLUTIONS) {
        const time = windowStart(sample.time, resolution.step);
        const id = `${sample.key}|${resolution.step}|${time}`;
        let point = points.get(id);
        if (!point) {
          point = { time, min: 0, max: 0, sum: 0, first: 0, last: 0, count: 0 };
          points.set(id, point);
        }
        addSample(point, sample.value, sample.time);
      }
    return points;
  }

  /** The value a read returns for every (key, resolution, window): the key's method over the oracle's point. */
  expectedValues(): Map<string, number> {
    const values = new Map<string, number>();
    for (const [id, point] of this.oracle()) {
      const key = id.split('|')[0]!;
      values.set(id, valueOf(point, aggregationRuleFor(key, DEFAULT_AGGREGATION_RULES).method));
    }
    return values;
  }
}

/** `from` that makes /render read `resolution` (the finest whose retention covers it). */
function fromFor(resolution: Resolution, now: number): number {
  const index = RESOLUTIONS.indexOf(resolution);
  const finer = RESOLUTIONS[index - 1];
  return finer === undefined ? now - 3 * 3600 : now - finer.ttl - 600;
}

/** Every non-null (key, resolution, window) value /render answers for the late keys. */
export async function readBack(httpPort: number, now: number): Promise<Map<string, number>> {
  const values = new Map<string, number>();
  for (const resolution of RESOLUTIONS) {
    const from = fromFor(resolution, now);
    for (const key of LATE_KEYS) {
      const [series] = await getJson<RenderedSeries[]>(
        `http://127.0.0.1:${httpPort}/render?format=json&target=${encodeURIComponent(key)}&from=${from}&until=${now + 60}`,
      );
      for (const [value, time] of series?.datapoints ?? [])
        if (value !== null) values.set(`${key}|${resolution.step}|${time}`, value);
    }
  }
  return values;
}

/**
 * Sends both rounds to the program's Graphite TCP port, waits for every late point to be amended and written,
 * and returns the traffic (its oracle). `amended` reads the program's amend counter.
 */
export async function sendLateRounds(graphitePort: number, httpPort: number): Promise<LateTraffic> {
  const traffic = new LateTraffic(Math.floor(Date.now() / 1000));
  const amended = async (): Promise<number> =>
    metricValue(await getText(`http://127.0.0.1:${httpPort}/metrics`), 'carillon_aggregator_amended_points_total');
  await sendTcp(graphitePort, traffic.round(0, Math.floor(Date.now() / 1000)));
  const firstRound = traffic.latePoints;
  await waitFor('the first round amended', async () => (await amended()) >= firstRound, 30_000, 200);
  // The amends are handed over at the next flush (finest step + grace), then written.
  await sleep(13_000);
  await sendTcp(graphitePort, traffic.round(1, Math.floor(Date.now() / 1000)));
  await waitFor('the second round amended', async () => (await amended()) >= traffic.latePoints, 30_000, 200);
  expect_(await amended(), traffic.latePoints);
  await sleep(13_000);
  return traffic;
}

function expect_(actual: number, expected: number): void {
  if (actual !== expected) throw new Error(`amended ${actual} points, expected ${expected}`);
}

/** Polls /render until it answers the oracle's values for every (key, resolution, window), or times out. */
export async function readBackUntilExact(
  httpPort: number,
  traffic: LateTraffic,
  timeoutMs = 30_000,
): Promise<{ expected: Map<string, number>; actual: Map<string, number> }> {
  const expected = traffic.expectedValues();
  const now = Math.floor(Date.now() / 1000);
  let actual = await readBack(httpPort, now);
  const deadline = Date.now() + timeoutMs;
  while (!sameValues(actual, expected) && Date.now() < deadline) {
    await sleep(1000);
    actual = await readBack(httpPort, now);
  }
  return { expected, actual };
}

function sameValues(a: Map<string, number>, b: Map<string, number>): boolean {
  if (a.size !== b.size) return false;
  for (const [id, value] of a) if (b.get(id) !== value) return false;
  return true;
}

/** Sorted entries, for a readable difference when a comparison fails. */
export function entries(map: Map<string, number>): [string, number][] {
  return [...map.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}
