/**
 * The single-node program killed -9 mid-window and restarted on the same data directory, under CPU contention:
 * the write-ahead log holds every line it had read, so every (series, window) at both resolutions, the coarse
 * window in progress at the kill included, equals what was sent. Nothing lost, nothing counted twice.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBusyLoops, type Contention } from '../support/contention.js';
import { freePort } from '../support/ports.js';
import { sleep, waitFor } from '../support/wait.js';
import { getJson, getText, sendTcp, startProgram, type RenderedSeries, type RunningProgram } from './programs.js';

const PROGRAM = 'services/allinone/dist/main.js';
const FINE = 1;
const COARSE = 5;
const GRACE = 3;
const GRAPHITE_SERIES = 12;
const STATSD_COUNTERS = 4;

/** What was sent, per series and window: sum and count. */
class Oracle {
  readonly windows = new Map<string, Map<number, { sum: number; count: number }>>();

  add(series: string, value: number, time: number, step: number): void {
    let byWindow = this.windows.get(series);
    if (byWindow === undefined) this.windows.set(series, (byWindow = new Map()));
    const start = Math.floor(time / step) * step;
    const window = byWindow.get(start) ?? { sum: 0, count: 0 };
    window.sum += value;
    window.count++;
    byWindow.set(start, window);
  }

  /** [value, time] pairs in time order, as /render answers them. */
  expected(series: string, value: (w: { sum: number; count: number }) => number): [number, number][] {
    return [...(this.windows.get(series) ?? new Map<number, { sum: number; count: number }>()).entries()]
      .sort(([a], [b]) => a - b)
      .map(([time, w]) => [value(w), time]);
  }
}

const metric = (text: string, name: string): number => {
  let total = 0;
  for (const line of text.split('\n'))
    if (line.startsWith(name + ' ') || line.startsWith(name + '{'))
      total += Number(line.slice(line.lastIndexOf(' ') + 1));
  return total;
};

describe('carillon all-in-one killed -9 mid-window', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'carillon-crash-'));
  let ports: { http: number; graphite: number; statsd: number };
  let args: string[];
  let program: RunningProgram | undefined;
  let contention: Contention | undefined;
  const http = (path: string): string => `http://127.0.0.1:${ports.http}${path}`;
  const fine = new Oracle();
  const coarse = new Oracle();
  const statsdSent = new Map<string, number>();
  let sendCount = 0;
  /** Start of the first coarse window the tests sent to. */
  let firstWindow = 0;

  /** One round: every Graphite series gets one point stamped now, every counter one increment; resolves once read. */
  const sendRound = async (): Promise<void> => {
    const now = Math.floor(Date.now() / 1000);
    const round = sendCount++;
    const graphite: string[] = [];
    for (let i = 0; i < GRAPHITE_SERIES; i++) {
      const value = 1 + ((round * 7919 + i * 104729) % 997);
      for (const name of [`crash.g${i}.sum`, `crash.g${i}.avg`]) {
        graphite.push(`${name} ${value} ${now}`);
        fine.add(name, value, now, FINE);
        coarse.add(name, value, now, COARSE);
      }
    }
    const statsd: string[] = [];
    for (let i = 0; i < STATSD_COUNTERS; i++) {
      const increment = 1 + ((round + i) % 5);
      statsd.push(`crash.c${i}:${increment}|c`);
      statsdSent.set(`stats_counts.crash.c${i}`, (statsdSent.get(`stats_counts.crash.c${i}`) ?? 0) + increment);
    }
    // sendTcp resolves when the connection closed: the server read every byte and ended its side.
    await Promise.all([
      sendTcp(ports.graphite, graphite.join('\n') + '\n'),
      sendTcp(ports.statsd, statsd.join('\n') + '\n'),
    ]);
  };

  const start = (): Promise<RunningProgram> =>
    startProgram(PROGRAM, [...args, '--set', 'log_level=info'], 'carillon started', 60_000);

  beforeAll(async () => {
    ports = { http: await freePort(), graphite: await freePort(), statsd: await freePort() };
    args = [
      '--set',
      `whisper.data_dir=${dataDir}`,
      '--set',
      `http.listen=127.0.0.1:${ports.http}`,
      '--set',
      `graphite.tcp_listen=127.0.0.1:${ports.graphite}`,
      '--set',
      'graphite.udp_listen=',
      '--set',
      `statsd.tcp_listen=127.0.0.1:${ports.statsd}`,
      '--set',
      'statsd.udp_listen=',
      '--set',
      'pickle.tcp_listen=',
      '--set',
      `times=${FINE}s:1h,${COARSE}s:1d`,
      '--set',
      `aggregator.grace=${GRACE}s`,
    ];
    // Two busy loops on a two-core machine: the program, the test and the loops share the CPU. Bounded in time.
    contention = startBusyLoops(2, 60_000);
    program = await start();
  });

  afterAll(async () => {
    contention?.stop();
    if (program && program.child.exitCode === null) program.child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** Every (series, window) at both resolutions from `from` to `until` against the oracle: the mismatches. */
  const mismatchesWithOracle = async (from: number, until: number): Promise<string[]> => {
    const render = async (targets: string[], range: string): Promise<RenderedSeries[]> =>
      getJson<RenderedSeries[]>(
        http(`/render?format=json&maxDataPoints=100000&${targets.map((t) => `target=${t}`).join('&')}&${range}`),
      );
    const values = (series: RenderedSeries | undefined): [number | null, number][] =>
      (series?.datapoints ?? []).filter(([value]) => value !== null);
    const fineRange = `from=${from}&until=${until}`;
    // Older than the 1 s resolution's 1 h retention: answered from the 5 s resolution.
    const coarseRange = `from=-2h&until=${until}`;

    const mismatches: string[] = [];
    for (let i = 0; i < GRAPHITE_SERIES; i++) {
      const names = [`crash.g${i}.sum`, `crash.g${i}.avg`];
      const [fineSum, fineAvg] = await render(names, fineRange);
      const [coarseSum, coarseAvg] = await render(names, coarseRange);
      const check = (label: string, got: RenderedSeries | undefined, want: [number, number][]): void => {
        const actual = JSON.stringify(values(got));
        if (actual !== JSON.stringify(want)) mismatches.push(`${label}: got ${actual}, want ${JSON.stringify(want)}`);
      };
      check(
        `${names[0]} fine`,
        fineSum,
        fine.expected(names[0]!, (w) => w.sum),
      );
      check(
        `${names[1]} fine`,
        fineAvg,
        fine.expected(names[1]!, (w) => w.sum / w.count),
      );
      check(
        `${names[0]} coarse`,
        coarseSum,
        coarse.expected(names[0]!, (w) => w.sum),
      );
      check(
        `${names[1]} coarse`,
        coarseAvg,
        coarse.expected(names[1]!, (w) => w.sum / w.count),
      );
    }
    // StatsD counts land by arrival time, which only the server knows: the totals match what was sent, and each
    // coarse window (the one in progress at the kill included) is exactly the sum of its fine windows.
    for (const [name, sent] of statsdSent) {
      const [fineCounts] = await render([name], fineRange);
      const [coarseCounts] = await render([name], coarseRange);
      const fineValues = values(fineCounts);
      const total = fineValues.reduce((sum, [v]) => sum + v!, 0);
      if (total !== sent) mismatches.push(`${name}: fine windows sum to ${total}, sent ${sent}`);
      const merged = new Map<number, number>();
      for (const [v, t] of fineValues) {
        const start = Math.floor(t / COARSE) * COARSE;
        merged.set(start, (merged.get(start) ?? 0) + v!);
      }
      for (const [v, t] of values(coarseCounts))
        if (t >= from && v !== (merged.get(t) ?? 0))
          mismatches.push(`${name} coarse ${t}: ${v}, its fine windows sum to ${merged.get(t) ?? 0}`);
    }
    return mismatches;
  };

  it('rebuilds every fine and coarse window exactly from the log', async () => {
    // Sends for at least 12 s (two coarse windows flushed), then until mid coarse window: the kill lands there.
    const sendingSince = Date.now();
    while (Date.now() - sendingSince < 12_000 || Math.floor(Date.now() / 1000) % COARSE !== 2) {
      await sendRound();
      await sleep(150);
    }
    const killedAt = Math.floor(Date.now() / 1000);
    const before = await getText(http('/metrics'));
    // Windows were flushed before the kill, so the restart rewrites some and rebuilds the rest.
    expect(metric(before, 'carillon_aggregator_flushes_total')).toBeGreaterThan(5);
    program!.child.kill('SIGKILL');
    await new Promise((resolve) => program!.child.once('exit', resolve));

    program = await start();
    const replayed = await getText(http('/metrics'));
    expect(metric(replayed, 'carillon_accumulator_wal_replayed_records_total')).toBeGreaterThan(0);
    // A few more rounds after the restart, into the window the kill interrupted or the next.
    const restartedAt = Date.now();
    while (Date.now() - restartedAt < 2_000) {
      await sendRound();
      await sleep(150);
    }
    // The contention has done its job (sends, kill, replay, restart under load): the wait below needs none.
    contention?.stop();
    const lastSent = Math.floor(Date.now() / 1000);
    const lastCoarseEnd = Math.floor(lastSent / COARSE) * COARSE + COARSE;
    // Every window is closed and written once its end plus grace passed (and a tick ran).
    await waitFor('the last coarse window flushed', () => Date.now() / 1000 > lastCoarseEnd + GRACE + 2, 60_000, 200);

    const from = Math.floor((sendingSince / 1000 - COARSE) / COARSE) * COARSE;
    firstWindow = from;
    expect(await mismatchesWithOracle(from, lastCoarseEnd)).toEqual([]);

    const after = await getText(http('/metrics'));
    expect(metric(after, 'carillon_aggregator_late_points_total')).toBe(0);
    expect(metric(after, 'carillon_accumulator_incomplete_windows_dropped')).toBe(0);
    expect(killedAt % COARSE).toBe(2);
  }, 180_000);

  it('a clean restart mid-window keeps filling the same windows (the log keeps what shutdown closed early)', async () => {
    // Two seconds into a coarse window, SIGTERM: shutdown writes the open windows, partial so far.
    await waitFor('two seconds into a coarse window', () => Math.floor(Date.now() / 1000) % COARSE === 2, 10_000, 50);
    const sendingSince = Date.now();
    while (Date.now() - sendingSince < 1_500) {
      await sendRound();
      await sleep(150);
    }
    expect(await program!.stop()).toBe(0);
    program = await start();
    const restartedAt = Date.now();
    while (Date.now() - restartedAt < 1_500) {
      await sendRound();
      await sleep(150);
    }
    const lastSent = Math.floor(Date.now() / 1000);
    const lastCoarseEnd = Math.floor(lastSent / COARSE) * COARSE + COARSE;
    await waitFor('the last coarse window flushed', () => Date.now() / 1000 > lastCoarseEnd + GRACE + 2, 60_000, 200);
    expect(await mismatchesWithOracle(firstWindow, lastCoarseEnd)).toEqual([]);
  }, 90_000);
});
