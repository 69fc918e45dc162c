/**
 * The single node with its listeners in threads (`listeners.threads`): two threads share the ports, and their
 * hand-over bound is the smallest allowed, so under the load below they hold their connections again and again.
 * While busy loops take the cores, Graphite lines over several TCP connections and StatsD counters over TCP must
 * arrive exactly: every (series, window) sum and count is compared with what was sent, and every counter total.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBusyLoops } from '../support/contention.js';
import { freePort } from '../support/ports.js';
import { waitFor } from '../support/wait.js';
import { getJson, getText, sendTcp, startProgram, type RenderedSeries, type RunningProgram } from './programs.js';

const PROGRAM = 'services/allinone/dist/main.js';
const STEP = 10;
const SERIES = 200;
const CONNECTIONS = 8;
const LINES_PER_CONNECTION = 15_000;
const COUNTERS = 50;
const COUNTER_LINES = 20_000;

describe('single node with listener threads', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'carillon-listener-threads-'));
  let ports: { http: number; graphite: number; statsd: number };
  let program: RunningProgram | undefined;
  const http = (path: string): string => `http://127.0.0.1:${ports.http}${path}`;
  const metric = (text: string, name: string): number =>
    Number(new RegExp(`^${name.replace(/[{}]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);

  beforeAll(async () => {
    ports = { http: await freePort(), graphite: await freePort(), statsd: await freePort() };
    const set = (setting: string): string[] => ['--set', setting];
    program = await startProgram(
      PROGRAM,
      [
        ...set(`whisper.data_dir=${dataDir}`),
        ...set(`http.listen=127.0.0.1:${ports.http}`),
        ...set(`graphite.tcp_listen=127.0.0.1:${ports.graphite}`),
        ...set('graphite.udp_listen='),
        ...set(`statsd.tcp_listen=127.0.0.1:${ports.statsd}`),
        ...set('statsd.udp_listen='),
        ...set('pickle.tcp_listen='),
        ...set(`times=${STEP}s:1h`),
        ...set('aggregator.grace=1s'),
        ...set('listeners.threads=2'),
        ...set(`listeners.max_queued_bytes=${64 << 10}`),
        ...set('log_level=info'),
      ],
      'carillon started',
    );
  });

  afterAll(async () => {
    const code = await program?.stop();
    rmSync(dataDir, { recursive: true, force: true });
    expect(code).toBe(0);
  });

  it('stores every line sent over several connections exactly, held or not, under CPU load', async () => {
    // Three whole windows that closed before the test: every point amends its window, as a late point does.
    const first = Math.floor(Date.now() / 1000 / STEP) * STEP - 4 * STEP;
    const sums = new Map<string, number>();
    const counts = new Map<string, number>();
    const texts: string[] = [];
    for (let c = 0; c < CONNECTIONS; c++) {
      const lines: string[] = [];
      for (let i = 0; i < LINES_PER_CONNECTION; i++) {
        const series = (i * 7 + c) % SERIES;
        const time = first + ((i + c) % (3 * STEP));
        const value = ((i * 13 + c * 5) % 101) - 20;
        const window = first + Math.floor((time - first) / STEP) * STEP;
        const key = `${series}@${window}`;
        sums.set(key, (sums.get(key) ?? 0) + value);
        counts.set(key, (counts.get(key) ?? 0) + 1);
        lines.push(`threads.s${series}.sum ${value} ${time}`, `threads.s${series}.count 1 ${time}`);
      }
      texts.push(lines.join('\n') + '\n');
    }
    const counterLines = Array.from({ length: COUNTER_LINES }, (_, i) => `threads.c${i % COUNTERS}:${(i % 3) + 1}|c`);
    const counterTotals = new Map<number, number>();
    for (let i = 0; i < COUNTER_LINES; i++)
      counterTotals.set(i % COUNTERS, (counterTotals.get(i % COUNTERS) ?? 0) + (i % 3) + 1);

    const busy = startBusyLoops(2, 60_000);
    try {
      await Promise.all([
        ...texts.map((text) => sendTcp(ports.graphite, text)),
        sendTcp(ports.statsd, counterLines.join('\n') + '\n'),
      ]);
      const graphiteLines = CONNECTIONS * LINES_PER_CONNECTION * 2;
      await waitFor(
        'every line taken in',
        async () => {
          const text = await getText(http('/metrics'));
          return (
            metric(text, 'carillon_lines_accepted_total{protocol="graphite"}') === graphiteLines &&
            metric(text, 'carillon_lines_accepted_total{protocol="statsd"}') === COUNTER_LINES
          );
        },
        60_000,
        200,
      );
    } finally {
      busy.stop();
    }
    const text = await getText(http('/metrics'));
    expect(metric(text, 'carillon_lines_received_total{protocol="graphite"}')).toBe(
      CONNECTIONS * LINES_PER_CONNECTION * 2,
    );
    expect(metric(text, 'carillon_lines_rejected_total{protocol="graphite",reason="queue_full"}')).toBe(0);
    // The bound is small enough that the threads had to hold their connections: the hold is what is tested.
    expect(metric(text, 'carillon_listener_thread_holds_total')).toBeGreaterThan(0);

    // graphite-web's windows: after the one holding `from`, through the one holding `until`
    const range = `from=${first - 1}&until=${first + 3 * STEP - 1}`;
    await waitFor(
      'every window written',
      async () => {
        const rendered = await getJson<RenderedSeries[]>(http(`/render?format=json&target=threads.*.count&${range}`));
        let total = 0;
        for (const series of rendered) for (const [value] of series.datapoints) total += value ?? 0;
        return total === CONNECTIONS * LINES_PER_CONNECTION;
      },
      30_000,
      250,
    );
    for (const [method, expected] of [
      ['sum', sums],
      ['count', counts],
    ] as const) {
      const rendered = await getJson<RenderedSeries[]>(http(`/render?format=json&target=threads.*.${method}&${range}`));
      const stored = new Map<string, number>();
      for (const series of rendered) {
        const id = /^threads\.s(\d+)\./.exec(series.target)![1];
        for (const [value, time] of series.datapoints) if (value !== null) stored.set(`${id}@${time}`, value);
      }
      expect(stored.size, method).toBe(expected.size);
      for (const [key, value] of expected) expect(stored.get(key), `${method} ${key}`).toBe(value);
    }

    await waitFor(
      'every counter flushed',
      async () => {
        const rendered = await getJson<RenderedSeries[]>(
          http(`/render?format=json&target=stats_counts.threads.*&from=-5min&until=now`),
        );
        let total = 0;
        for (const series of rendered) for (const [value] of series.datapoints) total += value ?? 0;
        return total === [...counterTotals.values()].reduce((a, b) => a + b, 0);
      },
      30_000,
      250,
    );
    const rendered = await getJson<RenderedSeries[]>(
      http(`/render?format=json&target=stats_counts.threads.*&from=-5min&until=now`),
    );
    expect(rendered).toHaveLength(COUNTERS);
    for (const series of rendered) {
      const id = Number(/^stats_counts\.threads\.c(\d+)$/.exec(series.target)![1]);
      const total = series.datapoints.reduce((sum, [value]) => sum + (value ?? 0), 0);
      expect(total, series.target).toBe(counterTotals.get(id));
    }
  }, 150_000);
});
