/**
 * The one end-to-end frame of the catalogue writers' tests: the built all-in-one program (memory store) with the
 * writers under test in its config file, known Graphite lines over TCP and StatsD over UDP, all of it under CPU
 * contention (two bounded busy loops), then SIGTERM, which flushes every window and every writer. `checkRecords`
 * compares what a writer's server or files hold to the oracle: every (series, resolution, window) of the Graphite
 * traffic exactly once with exact values, and the StatsD outputs by value.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { startBusyLoops } from '../support/contention.js';
import { freePort } from '../support/ports.js';
import { sleep } from '../support/wait.js';
import { getText, metricValue, sendTcp, sendUdp, startProgram, type RunningProgram } from '../e2e/programs.js';

export const PROGRAM = 'services/allinone/dist/main.js';
export const STEPS = [2, 10] as const;
const TTLS: Record<number, number> = { 2: 3600, 10: 86_400 };
const GRACE_S = 1;

/** A StatPoint as a writer's destination holds it; fields a destination does not keep are left out. */
export interface ReadRecord {
  name: string;
  step: number;
  time: number;
  sum: number;
  count: number;
  min?: number;
  max?: number;
  first?: number;
  last?: number;
  mean?: number;
  ttl?: number;
}

/** One (series, resolution, window) of the oracle: a StatPoint with its name, step and TTL. */
export interface Expected {
  name: string;
  step: number;
  time: number;
  min: number;
  max: number;
  sum: number;
  first: number;
  last: number;
  count: number;
  ttl: number;
}

/** The StatsD outputs of the scenario's datagrams, one window each per resolution. */
export const STATSD = {
  counter: 'stats_counts.wt.s.hits',
  counterValue: 5,
  rate: 'stats.wt.s.hits',
  rateValue: 2.5,
  gauge: 'stats.gauges.wt.s.temp',
  gaugeValue: 8,
} as const;

/** The Graphite lines of the scenario at `base` (an aligned 10 s time), and `bulk` extra series. */
export function graphiteLines(base: number, bulk: number): [string, number, number][] {
  const lines: [string, number, number][] = [
    ['wt.g.mean', 1, base],
    ['wt.g.mean', 5, base + 1],
    ['wt.g.mean', 9, base + 2],
    ['wt.g.mean', 0.1, base + 7],
    ['wt.g.tagged;dc=eu;host=a', 4, base],
    ['wt.g.tagged;dc=eu;host=a', 6.5, base + 3],
    ['wt.g.tagged;dc=eu;host=a', 1e6, base + 5],
    ['wt.g.neg', -2.25, base + 5],
  ];
  for (let i = 0; i < bulk; i++) lines.push([`wt.bulk.s${i}`, i, base + (i % 10)]);
  return lines;
}

/** Every (series, step, window) the lines make, merged in time order. */
export function oracle(lines: readonly [string, number, number][]): Expected[] {
  const windows = new Map<string, Expected>();
  const ordered = [...lines].sort((a, b) => a[2] - b[2]);
  for (const [name, value, time] of ordered)
    for (const step of STEPS) {
      const start = Math.floor(time / step) * step;
      const key = `${name}|${step}|${start}`;
      const w = windows.get(key);
      if (w === undefined)
        windows.set(key, {
          name,
          step,
          time: start,
          min: value,
          max: value,
          sum: value,
          first: value,
          last: value,
          count: 1,
          ttl: TTLS[step]!,
        });
      else {
        w.min = Math.min(w.min, value);
        w.max = Math.max(w.max, value);
        w.sum += value;
        w.last = value;
        w.count++;
      }
    }
  return [...windows.values()];
}

export interface Carillon {
  program: RunningProgram;
  ports: { http: number; graphite: number; statsd: number };
  /** The program's own /metrics. */
  metrics(): Promise<string>;
  /** Stops the program (if running) and removes its directory. */
  cleanup(): Promise<void>;
}

/** Starts the all-in-one with the `[[writers]]` tables in its config file, 2 s and 10 s resolutions. */
export async function startCarillon(writersToml: string): Promise<Carillon> {
  const dir = mkdtempSync(join(tmpdir(), 'carillon-writers-e2e-'));
  const ports = { http: await freePort(), graphite: await freePort(), statsd: await freePort() };
  const config = join(dir, 'carillon.toml');
  writeFileSync(
    config,
    [
      'store = "memory"',
      'times = ["2s:1h", "10s:1d"]',
      'log_level = "info"',
      '[aggregator]',
      `grace = "${GRACE_S}s"`,
      '[statsd.output]',
      // Idle counters would add zero windows after the one the traffic fell in.
      'deleteIdleStats = true',
      '',
      writersToml,
    ].join('\n'),
  );
  const program = await startProgram(
    PROGRAM,
    [
      '--config',
      config,
      '--set',
      `http.listen=127.0.0.1:${ports.http}`,
      '--set',
      `graphite.tcp_listen=127.0.0.1:${ports.graphite}`,
      '--set',
      'graphite.udp_listen=',
      '--set',
      `statsd.udp_listen=127.0.0.1:${ports.statsd}`,
      '--set',
      'statsd.tcp_listen=',
      '--set',
      'pickle.tcp_listen=',
    ],
    'carillon started',
    // Generous: the machine's cores are shared with other test runs.
    60_000,
  ).catch((error: unknown) => {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  });
  return {
    program,
    ports,
    metrics: () => getText(`http://127.0.0.1:${ports.http}/metrics`),
    cleanup: async () => {
      if (program.child.exitCode === null && program.child.signalCode === null) await program.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface ScenarioRun {
  base: number;
  expected: Expected[];
  /** /metrics text just before SIGTERM. */
  metricsBeforeStop: string;
  output: string;
  exitCode: number | null;
}

export interface ScenarioOptions {
  /** `[[writers]]` tables (TOML). */
  writersToml: string;
  /** Extra series (volume). */
  bulk?: number;
  /**
   * Wait, with the program running, until every window of the traffic has closed and been flushed, so that
   * `metricsBeforeStop` counts all of it; otherwise the program is stopped as soon as the traffic is in, and
   * SIGTERM flushes.
   */
  settle?: boolean;
  /** Called once settled (implies `settle`), with the program still running: a pull writer is read here. */
  whileSettled?: (carillon: Carillon, run: Pick<ScenarioRun, 'base' | 'expected'>) => Promise<void>;
}

/** StatPoints the StatsD traffic adds beyond the Graphite oracle: hits, its count and temp, at both steps. */
export const STATSD_STATPOINTS = 6;

/** Polls /metrics until every writer has delivered at least `points`, for at most 30 s (then the checks tell). */
async function waitForDeliveries(carillon: Carillon, points: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const delivered = (await carillon.metrics())
      .split('\n')
      .filter((line) => line.startsWith('carillon_writer_points_written_total{'))
      .map((line) => Number(line.slice(line.lastIndexOf(' ') + 1)));
    if (delivered.length > 0 && delivered.every((n) => n >= points)) return;
    await sleep(250);
  }
}

/** Runs the program with the writers, sends the traffic, stops it; the writers have delivered by then. */
export async function runScenario(options: ScenarioOptions): Promise<ScenarioRun> {
  // Bounded: the longest run (settling included) is well under two minutes.
  const busy = startBusyLoops(2, 120_000);
  try {
    const carillon = await startCarillon(options.writersToml);
    try {
      // A 10 s aligned time 3-13 s ahead: its windows are open when the points arrive.
      const base = Math.floor((Date.now() / 1000 + 13) / 10) * 10;
      const lines = graphiteLines(base, options.bulk ?? 0);
      await sendTcp(carillon.ports.graphite, lines.map(([n, v, t]) => `${n} ${v} ${t}\n`).join(''));
      await sendUdp(carillon.ports.statsd, ['wt.s.hits:1|c\nwt.s.hits:2|c|@0.5', 'wt.s.temp:5|g\nwt.s.temp:+3|g']);
      // The StatsD interval flushes at its end plus the grace (2 s + 1 s).
      await sleep(4_000);
      const expected = oracle(lines);
      if (options.settle === true || options.whileSettled !== undefined) {
        // The 10 s window closes at base + 10 + grace; the writers' flush follows.
        const settled = (base + 10 + GRACE_S) * 1000 + 1_500 - Date.now();
        if (settled > 0) await sleep(settled);
        // Then the writers' own batching (a time threshold, a loaded machine): wait for the deliveries themselves.
        await waitForDeliveries(carillon, expected.length + STATSD_STATPOINTS);
        await options.whileSettled?.(carillon, { base, expected });
      }
      const metricsBeforeStop = await carillon.metrics();
      const exitCode = await carillon.program.stop();
      return { base, expected, metricsBeforeStop, output: carillon.program.output(), exitCode };
    } finally {
      await carillon.cleanup();
    }
  } finally {
    busy.stop();
  }
}

const near = (a: number | undefined, b: number): boolean =>
  a === undefined || Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b));

/**
 * Every expected Graphite window is there exactly once with exact values, nothing else under `wt.g.`/`wt.bulk.`,
 * and the StatsD outputs (one window each per resolution) hold the reference daemon's values.
 */
export function checkRecords(records: readonly ReadRecord[], run: Pick<ScenarioRun, 'expected'>): void {
  checkWindows(
    records.filter((r) => r.name.startsWith('wt.g.') || r.name.startsWith('wt.bulk.')),
    run.expected,
  );
  checkStatsd(records);
}

/** The (series, step, window) keys of `expected` that `records` does not hold yet. */
export function missingWindows(records: readonly ReadRecord[], expected: readonly Expected[]): string[] {
  const held = new Set(records.map((r) => `${r.name}|${r.step}|${r.time}`));
  return expected.map((e) => `${e.name}|${e.step}|${e.time}`).filter((key) => !held.has(key));
}

/** Every expected window exactly once with exact values, and no other window among `graphite`. */
export function checkWindows(graphite: readonly ReadRecord[], expected: readonly Expected[]): void {
  const byKey = new Map<string, ReadRecord[]>();
  for (const r of graphite) {
    const key = `${r.name}|${r.step}|${r.time}`;
    byKey.set(key, [...(byKey.get(key) ?? []), r]);
  }
  const missing: string[] = [];
  const wrong: string[] = [];
  for (const e of expected) {
    const key = `${e.name}|${e.step}|${e.time}`;
    const got = byKey.get(key);
    byKey.delete(key);
    if (got === undefined) {
      missing.push(key);
      continue;
    }
    if (got.length !== 1) wrong.push(`${key}: ${got.length} copies`);
    const r = got[0]!;
    const ok =
      near(r.sum, e.sum) &&
      near(r.count, e.count) &&
      near(r.min, e.min) &&
      near(r.max, e.max) &&
      near(r.first, e.first) &&
      near(r.last, e.last) &&
      near(r.mean, e.sum / e.count) &&
      near(r.ttl, e.ttl);
    if (!ok) wrong.push(`${key}: got ${JSON.stringify(r)}, expected ${JSON.stringify(e)}`);
  }
  expect(missing, 'windows missing').toEqual([]);
  expect(wrong, 'windows wrong').toEqual([]);
  expect([...byKey.keys()], 'windows not sent').toEqual([]);
}

function checkStatsd(records: readonly ReadRecord[]): void {
  for (const step of STEPS) {
    const only = (name: string): ReadRecord => {
      const found = records.filter((r) => r.name === name && r.step === step);
      expect(
        found.map((r) => r.time),
        `${name} at ${step}s`,
      ).toHaveLength(1);
      return found[0]!;
    };
    const counts = only(STATSD.counter);
    expect([counts.sum, counts.count]).toEqual([STATSD.counterValue, 1]);
    expect(only(STATSD.rate).sum).toBe(STATSD.rateValue);
    const temp = only(STATSD.gauge);
    expect(temp.last ?? temp.sum).toBe(STATSD.gaugeValue);
  }
}

/** The sum of a counter over every label set that begins with `{writer="<writer>"`. */
export function writerTotal(text: string, name: string, writer: string): number {
  return text
    .split('\n')
    .filter((line) => line.startsWith(`${name}{writer="${writer}"`))
    .reduce((n, line) => n + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}

/**
 * The per-writer counters of a run that delivered everything: every point written (`points` at least), in
 * deliveries whose bytes and latency are counted, no error, nothing dropped, nothing left queued.
 */
export function checkCounters(metrics: string, writer: string, points: number): void {
  const labels = `{writer="${writer}"}`;
  const deliveries = metricValue(metrics, 'carillon_writer_deliveries_total', labels);
  expect(metricValue(metrics, 'carillon_writer_points_written_total', labels)).toBeGreaterThanOrEqual(points);
  expect(deliveries).toBeGreaterThan(0);
  expect(metricValue(metrics, 'carillon_writer_bytes_total', labels)).toBeGreaterThan(0);
  expect(metricValue(metrics, 'carillon_writer_delivery_seconds_count', labels)).toBe(deliveries);
  expect(writerTotal(metrics, 'carillon_writer_errors_total', writer), 'errors').toBe(0);
  expect(writerTotal(metrics, 'carillon_writer_dropped_points_total', writer), 'dropped').toBe(0);
  expect(metricValue(metrics, 'carillon_writer_queue_points', labels), 'queued').toBe(0);
}
