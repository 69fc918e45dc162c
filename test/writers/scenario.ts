/**
 * The end-to-end traffic every writer test sends: the built all-in-one program (memory store) with the writers
 * under test in its config file, known Graphite lines over TCP and StatsD over UDP, then SIGTERM (which flushes
 * every window and every writer). `checkRecords` compares what a writer's server or files hold to the oracle:
 * every (series, resolution, window) of the Graphite traffic exactly, and the StatsD outputs by value.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { startBusyLoops } from '../support/contention.js';
import { freePort } from '../support/ports.js';
import { sleep } from '../support/wait.js';
import { getText, sendTcp, sendUdp, startProgram, type RunningProgram } from '../e2e/programs.js';

export const PROGRAM = 'services/allinone/dist/main.js';
export const STEPS = [2, 10] as const;
const TTLS: Record<number, number> = { 2: 3600, 10: 86_400 };

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

/** The Graphite lines of the scenario at `base` (an aligned 10 s time), and `bulk` extra series. */
export function graphiteLines(base: number, bulk: number): [string, number, number][] {
  const lines: [string, number, number][] = [
    ['wt.g.mean', 1, base],
    ['wt.g.mean', 5, base + 1],
    ['wt.g.mean', 9, base + 2],
    ['wt.g.tagged;dc=eu;host=a', 4, base],
    ['wt.g.tagged;dc=eu;host=a', 6.5, base + 3],
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
  /** Busy loops on both cores while the program runs (test/support/contention.ts). */
  contention?: boolean;
}

export interface StartedProgram {
  program: RunningProgram;
  ports: { http: number; graphite: number; statsd: number };
  metrics(): Promise<string>;
  /** Stops the program (if running) and removes its directory. */
  cleanup(): Promise<void>;
}

/** Starts the all-in-one with the `[[writers]]` tables in its config file. */
export async function startWithWriters(writersToml: string): Promise<StartedProgram> {
  const dir = mkdtempSync(join(tmpdir(), 'carillon-writers-e2e-'));
  const ports = { http: await freePort(), graphite: await freePort(), statsd: await freePort() };
  const config = join(dir, 'carillon.toml');
  writeFileSync(
    config,
    [
      'store = "memory"',
      'times = ["2s:1h", "10s:1d"]',
      'log_level = "info"',
      '[statsd.output]',
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
      '--set',
      'aggregator.grace=1s',
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
      if (program.child.exitCode === null) await program.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Runs the program with the writers, sends the traffic, stops it; the writers have delivered by then. */
export async function runScenario(options: ScenarioOptions): Promise<ScenarioRun> {
  const busy = options.contention === true ? startBusyLoops(2, 60_000) : undefined;
  const started = await startWithWriters(options.writersToml).catch((error: unknown) => {
    busy?.stop();
    throw error;
  });
  const { program, ports } = started;
  try {
    // A 10 s aligned time 3-13 s ahead: its windows are open when the points arrive.
    const base = Math.floor((Date.now() / 1000 + 13) / 10) * 10;
    const lines = graphiteLines(base, options.bulk ?? 0);
    await sendTcp(ports.graphite, lines.map(([n, v, t]) => `${n} ${v} ${t}\n`).join(''));
    await sendUdp(ports.statsd, ['wt.s.hits:1|c\nwt.s.hits:2|c|@0.5', 'wt.s.temp:5|g\nwt.s.temp:+3|g']);
    // The StatsD interval flushes at its end plus the grace (2 s + 1 s).
    await sleep(4_000);
    const metricsBeforeStop = await started.metrics();
    const exitCode = await program.stop();
    return { base, expected: oracle(lines), metricsBeforeStop, output: program.output(), exitCode };
  } finally {
    busy?.stop();
    await started.cleanup();
  }
}

const near = (a: number | undefined, b: number): boolean =>
  a === undefined || Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b));

/**
 * Every expected Graphite window is there exactly once with exact values, nothing else under `wt.g.`/`wt.bulk.`,
 * and the StatsD outputs (one window each per resolution) hold the reference daemon's values.
 */
export function checkRecords(records: readonly ReadRecord[], run: ScenarioRun): void {
  checkWindows(
    records.filter((r) => r.name.startsWith('wt.g.') || r.name.startsWith('wt.bulk.')),
    run.expected,
  );
  checkStatsd(records);
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
    const counts = only('stats_counts.wt.s.hits');
    expect([counts.sum, counts.count]).toEqual([5, 1]);
    expect(only('stats.wt.s.hits').sum).toBe(2.5);
    const temp = only('stats.gauges.wt.s.temp');
    expect(temp.last ?? temp.sum).toBe(8);
  }
}

/** The value of one sample line of /metrics text, or 0. */
export function metricValue(text: string, sample: string): number {
  for (const line of text.split('\n')) if (line.startsWith(`${sample} `)) return Number(line.slice(sample.length + 1));
  return 0;
}
