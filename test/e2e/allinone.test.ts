/**
 * The single-node program, end to end: the built `services/allinone` as a child process; Graphite over TCP and
 * UDP, StatsD over UDP; exact StatPoint-derived values back through /render and /metrics/find, before the flush
 * (pending windows), after it (whisper files), and after a restart on the same data directory.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/ports.js';
import { sleep } from '../support/wait.js';
import {
  getJson,
  getText,
  type RenderedSeries,
  type RunningProgram,
  runProgram,
  sendTcp,
  sendUdp,
  startProgram,
} from './programs.js';

const PROGRAM = 'services/allinone/dist/main.js';

describe('carillon all-in-one', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'carillon-e2e-'));
  let ports: { http: number; graphite: number; statsd: number };
  let args: string[];
  let program: RunningProgram;
  const http = (path: string): string => `http://127.0.0.1:${ports.http}${path}`;
  const render = (query: string): Promise<RenderedSeries[]> =>
    getJson<RenderedSeries[]>(http(`/render?format=json&${query}`));
  // graphite-web's windows: after the one holding `from`, through the one holding `until`
  const values = (series: RenderedSeries | undefined): [number | null, number][] =>
    (series?.datapoints ?? []).filter(([value]) => value !== null);

  // A 10 s aligned time 3-13 s ahead: its windows are open when the points arrive and close during the test.
  const base = Math.floor((Date.now() / 1000 + 13) / 10) * 10;

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
      `graphite.udp_listen=127.0.0.1:${ports.graphite}`,
      '--set',
      `statsd.udp_listen=127.0.0.1:${ports.statsd}`,
      '--set',
      'statsd.tcp_listen=',
      '--set',
      'pickle.tcp_listen=',
      '--set',
      'times=2s:1h,10s:1d',
      '--set',
      'aggregator.grace=1s',
      '--set',
      'log_level=warn',
      // the listeners in two threads, as on a machine of many cores (the default on this one's two is none)
      '--set',
      'listeners.threads=2',
    ];
    program = await startProgram(PROGRAM, [...args, '--set', 'log_level=info'], 'carillon started');
  });

  afterAll(async () => {
    await program?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('aggregates Graphite over TCP and UDP into exact windows, readable before the flush', async () => {
    await sendTcp(
      ports.graphite,
      [
        `e2e.graphite.tcp 1 ${base}`,
        `e2e.graphite.tcp 5 ${base + 1}`,
        `e2e.graphite.tcp 9 ${base + 2}`,
        `e2e.graphite.requests 1 ${base}`,
        `e2e.graphite.requests 2 ${base + 1}`,
        `e2e.graphite.requests 4 ${base + 3}`,
        `e2e.tagged;host=a;dc=eu 4 ${base}`,
        `e2e.bad nan ${base}`,
        `e2e..bad 1 ${base}`,
        '',
      ].join('\n'),
    );
    await sendUdp(ports.graphite, [`e2e.graphite.udp 7 ${base}\ne2e.graphite.udp 8 ${base + 1}\n`]);
    await sleep(300);

    // The points are a few seconds ahead of the clock; graphite-web's `now` reads them as a client a little later
    // would (graphite-web clips every range to now).
    const [tcp, requests, udp] = await render(
      `target=e2e.graphite.tcp&target=e2e.graphite.requests&target=e2e.graphite.udp&from=${base - 1}&until=${base + 3}&now=${base + 4}`,
    );
    expect(values(tcp)).toEqual([
      [3, base],
      [9, base + 2],
    ]);
    expect(values(requests)).toEqual([
      [3, base],
      [4, base + 2],
    ]);
    expect(values(udp)).toEqual([[7.5, base]]);

    const [tagged] = await render(
      `target=${encodeURIComponent("seriesByTag('dc=eu')")}&from=${base - 1}&until=${base + 1}&now=${base + 4}`,
    );
    expect(tagged?.target).toBe('e2e.tagged;dc=eu;host=a');
    expect(values(tagged)).toEqual([[4, base]]);

    const metrics = await getText(http('/metrics'));
    expect(metrics).toContain('carillon_lines_accepted_total{protocol="graphite"} 9');
    expect(metrics).toContain('carillon_lines_rejected_total{protocol="graphite",reason="nan_value"} 1');
    expect(metrics).toContain('carillon_lines_rejected_total{protocol="graphite",reason="invalid_path"} 1');
  });

  it('computes StatsD counters, timers, gauges and sets like the reference daemon', async () => {
    await sendUdp(ports.statsd, [
      'e2e.hits:1|c\ne2e.hits:2|c|@0.5',
      'e2e.lat:10|ms\ne2e.lat:20|ms\ne2e.lat:30|ms',
      'e2e.temp:5|g\ne2e.temp:+3|g',
      'e2e.users:a|s\ne2e.users:b|s\ne2e.users:a|s',
    ]);
    const now = Math.floor(Date.now() / 1000);
    const range = `from=${now - 10}&until=${now + 30}`;
    // Wait for the StatsD flush of this interval (2 s step + 1 s grace).
    await sleep(4000);
    const [hits, count, lower, upper, mean, temp, users] = await render(
      [
        'stats_counts.e2e.hits',
        'stats.timers.e2e.lat.count',
        'stats.timers.e2e.lat.lower',
        'stats.timers.e2e.lat.upper',
        'stats.timers.e2e.lat.mean',
        'stats.gauges.e2e.temp',
        'stats.sets.e2e.users.count',
      ]
        .map((t) => `target=${t}`)
        .join('&') + `&${range}`,
    );
    const nonZero = (s: RenderedSeries | undefined): number[] =>
      values(s)
        .map(([v]) => v!)
        .filter((v) => v !== 0);
    expect(nonZero(hits)).toEqual([5]);
    expect(nonZero(count)).toEqual([3]);
    expect(nonZero(lower)).toEqual([10]);
    expect(nonZero(upper)).toEqual([30]);
    expect(nonZero(mean)).toEqual([20]);
    expect(new Set(nonZero(temp))).toEqual(new Set([8]));
    expect(nonZero(users)).toEqual([2]);
  });

  it('flushes windows to whisper, serves both resolutions, and keeps them across a restart', async () => {
    const flushedAt = (base + 10 + 1 + 1) * 1000;
    if (Date.now() < flushedAt) await sleep(flushedAt - Date.now());
    await sleep(500);

    const [fine] = await render(`target=e2e.graphite.tcp&from=${base - 1}&until=${base + 3}`);
    expect(values(fine)).toEqual([
      [3, base],
      [9, base + 2],
    ]);
    // A range older than the 2 s resolution's 1 h retention is answered from the 10 s resolution.
    const [coarse] = await render(`target=e2e.graphite.tcp&from=-2h&until=${base + 9}`);
    expect(values(coarse)).toEqual([[5, base]]);
    const [coarseSum] = await render(`target=e2e.graphite.requests&from=-2h&until=${base + 9}`);
    expect(values(coarseSum)).toEqual([[7, base]]);

    const find = await getJson<{ text: string; leaf: number }[]>(http('/metrics/find?query=e2e.graphite.*'));
    expect(find.map((n) => [n.text, n.leaf]).sort()).toEqual([
      ['requests', 1],
      ['tcp', 1],
      ['udp', 1],
    ]);

    // A point in a window that is still open when SIGTERM arrives: shutdown must flush it to the files.
    const openWindowTime = Math.floor(Date.now() / 1000);
    const openWindow = Math.floor(openWindowTime / 2) * 2;
    await sendTcp(ports.graphite, `e2e.shutdown.flush 42 ${openWindowTime}\n`);
    await sleep(200);
    expect(await program.stop()).toBe(0);
    program = await startProgram(PROGRAM, [...args, '--set', 'log_level=info'], 'carillon started');
    const [flushedAtShutdown] = await render(
      `target=e2e.shutdown.flush&from=${openWindow - 1}&until=${openWindow + 1}`,
    );
    expect(values(flushedAtShutdown)).toEqual([[42, openWindow]]);
    const [afterRestart] = await render(`target=e2e.graphite.tcp&from=${base - 1}&until=${base + 3}`);
    expect(values(afterRestart)).toEqual([
      [3, base],
      [9, base + 2],
    ]);
    // Tagged series live in the tag index, not the path tree, as in Graphite.
    const findAgain = await getJson<{ text: string }[]>(http('/metrics/find?query=e2e.*'));
    expect(findAgain.map((n) => n.text)).toEqual(['graphite', 'shutdown']);
    const [taggedAgain] = await render(
      `target=${encodeURIComponent("seriesByTag('host=a')")}&from=${base - 1}&until=${base + 1}`,
    );
    expect(values(taggedAgain)).toEqual([[4, base]]);
  }, 60_000);

  it('stops with a message naming the key when the config is bad', async () => {
    const badValue = await runProgram(PROGRAM, ['--set', 'graphite.max_line_length=lots']);
    expect(badValue.code).toBe(2);
    expect(badValue.output).toContain('config: graphite.max_line_length: must be a number');
    const unknown = await runProgram(PROGRAM, ['--set', 'graphite.max_line_lenght=10']);
    expect(unknown.code).toBe(2);
    expect(unknown.output).toContain('config: graphite.max_line_lenght: unknown key');
    const badTimes = await runProgram(PROGRAM, ['--set', 'times=10s:1h,15s:1d']);
    expect(badTimes.code).toBe(2);
    expect(badTimes.output).toContain('config: times[1]: step 15s is not a multiple of the previous step 10s');
  });
});
