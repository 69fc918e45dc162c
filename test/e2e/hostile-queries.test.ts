/**
 * Hostile queries against the built all-in-one: 50 concurrent catastrophic regexes (seriesByTag, /tags filters)
 * and globs over long names for 30 s, under CPU contention, while /healthz is polled and Graphite lines arrive
 * over TCP. /healthz stays fast (p99 under HEALTHZ_P99_MS), every ingested line is in the answer (compared per series and
 * window with an oracle of what was sent), and every hostile query is answered, with a result or an error, within
 * its time budget.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { createConnection, type Socket } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBusyLoops } from '../support/contention.js';
import { freePort } from '../support/ports.js';
import { sleep } from '../support/wait.js';
import { getText, sendTcp, startProgram, type RunningProgram } from './programs.js';

const PROGRAM = 'services/allinone/dist/main.js';
const RUN_MS = 30_000;
const CONCURRENT = 50;
const BUDGET_MS = 3_000;
/** A hostile query may be answered this much after its budget ran out (the answer itself, a busy machine). */
const ANSWER_MARGIN_MS = 3_000;
/**
 * What the issue asks. The ingest thread only finds names and takes the pending windows (globs and regexes run in
 * the match workers, renders in the render workers at nice 10); its p99 is set by the shared 2-core machine's
 * scheduler: 13.9 ms at load average 2.9 alone, 17.4 and 21 ms inside full CI runs (docs/GRAPHITE.md).
 */
const HEALTHZ_P99_MS = 100;
const LONG = 'a'.repeat(60);
const q = encodeURIComponent;

const HOSTILE = [
  `/render?target=${q("seriesByTag('k=~(a+)+$')")}&from=-10min`,
  `/render?target=${q("seriesByTag('k=~(a|aa)+b')")}&from=-10min`,
  `/render?target=${q('aliasSub(hostile.*, "(a+)+$", "x")')}&from=-10min`,
  `/render?target=${q('hostile.*a*a*a*a*a*a*a*b')}&from=-10min`,
  `/render?target=${q('sumSeries(hostile.*a*a*a*b)')}&from=-10min&maxDataPoints=10`,
  `/metrics/find?query=${q('hostile.*a*a*a*a*a*a*a*a*b')}`,
  `/metrics/find?query=${q(`hostile.${'{a,aa}'.repeat(30)}b`)}`,
  `/tags/k?filter=${q('(a+)+$')}`,
  `/tags?filter=${q('(k+)+x')}`,
  `/tags/autoComplete/values?tag=k&expr=${q('k=~(a+)+$')}`,
];

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0;
}

/**
 * Polls `healthzUrl` every 20 ms until `end` from a child process, and gives back the latency of each poll (ms).
 * A poll that fails or answers other than 200 fails the child, and so the test.
 */
function pollHealthz(healthzUrl: string, end: number): Promise<number[]> {
  const script = `
    const latencies = [];
    while (Date.now() < ${end}) {
      const started = performance.now();
      const response = await fetch(${JSON.stringify(healthzUrl)}, { signal: AbortSignal.timeout(5000) });
      await response.arrayBuffer();
      if (response.status !== 200) throw new Error('/healthz answered ' + response.status);
      latencies.push(performance.now() - started);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    process.stdout.write(JSON.stringify(latencies));`;
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--input-type=module', '-e', script],
      { timeout: end - Date.now() + 30_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) =>
        error
          ? reject(new Error(`/healthz poller: ${error.message} ${stderr}`))
          : resolve(JSON.parse(stdout) as number[]),
    );
  });
}

describe('hostile queries against a running node', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'carillon-hostile-'));
  let ports: { http: number; graphite: number };
  let program: RunningProgram;
  const url = (path: string): string => `http://127.0.0.1:${ports.http}${path}`;

  beforeAll(async () => {
    ports = { http: await freePort(), graphite: await freePort() };
    program = await startProgram(
      PROGRAM,
      [
        ...['--set', `whisper.data_dir=${dataDir}`, '--set', `http.listen=127.0.0.1:${ports.http}`],
        ...['--set', `graphite.tcp_listen=127.0.0.1:${ports.graphite}`, '--set', 'graphite.udp_listen='],
        ...['--set', 'statsd.udp_listen=', '--set', 'statsd.tcp_listen=', '--set', 'pickle.tcp_listen='],
        ...['--set', 'times=10s:1h', '--set', 'aggregator.grace=1s', '--set', 'log_level=info'],
        ...['--set', `query.render_time_budget=${BUDGET_MS}ms`, '--set', 'query.render_workers=2'],
      ],
      'carillon started',
    );
    // long names for the globs and regexes to chew on
    const now = Math.floor(Date.now() / 1000);
    const lines: string[] = [];
    for (let i = 0; i < 200; i++) {
      lines.push(`hostile.${LONG}${i} 1 ${now}`);
      lines.push(`hostile.${'a'.repeat(40)}c${i} 1 ${now}`);
      lines.push(`tagged.series;k=${LONG}${i}! 1 ${now}`);
    }
    await sendTcp(ports.graphite, `${lines.join('\n')}\n`);
  });

  afterAll(async () => {
    await program?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it(
    'keeps /healthz fast, loses no line, and answers every hostile query within its budget',
    async () => {
      const contention = startBusyLoops(process.env.NO_BUSY ? 0 : 2, RUN_MS + 20_000);
      const end = Date.now() + RUN_MS;
      try {
        // ingest: 50 counters, a line each every 50 ms batch, summed per 10 s window by the oracle
        const oracle = new Map<string, number>();
        const firstTime = Math.floor(Date.now() / 1000);
        const ingest = (async () => {
          const socket: Socket = createConnection({ host: '127.0.0.1', port: ports.graphite });
          socket.setTimeout(10_000, () => socket.destroy(new Error('ingest socket timed out')));
          await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
          let n = 0;
          while (Date.now() < end) {
            const time = Math.floor(Date.now() / 1000);
            const batch: string[] = [];
            for (let k = 0; k < 50; k++) {
              const name = `ingest.s${k}.count`;
              const value = (n++ % 9) + 1;
              batch.push(`${name} ${value} ${time}`);
              const key = `${name}|${time - (time % 10)}`;
              oracle.set(key, (oracle.get(key) ?? 0) + value);
            }
            if (!socket.write(`${batch.join('\n')}\n`))
              await new Promise<void>((resolve) => socket.once('drain', resolve));
            await sleep(50);
          }
          await new Promise<void>((resolve) => socket.end(resolve));
        })();

        // polled from a process of its own: the 50 hostile clients share this one's event loop, and their
        // answers would otherwise be in the latencies measured
        const poll = pollHealthz(url('/healthz'), end);

        const answers: { path: string; status: number; ms: number }[] = [];
        const hostile = Array.from({ length: CONCURRENT }, async (_, loop) => {
          for (let i = loop; Date.now() < end; i++) {
            const path = HOSTILE[i % HOSTILE.length]!;
            const started = performance.now();
            const response = await fetch(url(path), { signal: AbortSignal.timeout(BUDGET_MS + 10_000) });
            await response.arrayBuffer();
            answers.push({ path, status: response.status, ms: performance.now() - started });
          }
        });
        const [health] = await Promise.all([poll, ingest, ...hostile]);

        const byStatus = new Map<number, number>();
        for (const a of answers) byStatus.set(a.status, (byStatus.get(a.status) ?? 0) + 1);
        // the figures the run measured, for docs/BENCHMARKS.md-style reporting
        console.log(
          `/healthz: ${health.length} polls, p50 ${percentile(health, 0.5).toFixed(1)} ms, p99 ${percentile(health, 0.99).toFixed(1)} ms; hostile answers by status: ${JSON.stringify(Object.fromEntries(byStatus))}`,
        );
        contention.stop();
        // every (series, window) sent is in the render, as the oracle summed it
        const from = firstTime - (firstTime % 10) - 10;
        let mismatch = '';
        const deadline = Date.now() + 20_000;
        do {
          const now = Math.floor(Date.now() / 1000);
          const body = await getText(url(`/render?target=ingest.s*.count&from=${from}&until=${now + 10}`));
          const rendered = new Map<string, number>();
          for (const s of JSON.parse(body) as { target: string; datapoints: [number | null, number][] }[])
            for (const [v, t] of s.datapoints) if (v !== null) rendered.set(`${s.target}|${t}`, v);
          mismatch = '';
          for (const [key, value] of oracle)
            if (rendered.get(key) !== value) mismatch ||= `${key}: sent ${value}, read ${rendered.get(key)}`;
          for (const key of rendered.keys()) if (!oracle.has(key)) mismatch ||= `${key}: read but never sent`;
          if (mismatch === '') break;
          await sleep(1000);
        } while (Date.now() < deadline);
        expect(mismatch).toBe('');
        const metrics = await getText(url('/metrics'));
        expect(metrics).toMatch(/query_renders_total\{outcome="ok"\} [1-9]/);
        const restarts = /query_render_worker_restarts_total\S* (\d+)/.exec(metrics)?.[1];
        console.log(`render workers replaced: ${restarts}; load average ${loadavg()[0]!.toFixed(1)}`);
        // after the oracle, so a slow machine still shows whether every line held
        expect(answers.length).toBeGreaterThan(CONCURRENT);
        for (const a of answers) {
          expect([200, 400, 503], `${a.path} answered ${a.status}`).toContain(a.status);
          expect(a.ms, `${a.path} took ${a.ms.toFixed(0)} ms`).toBeLessThan(BUDGET_MS + ANSWER_MARGIN_MS);
        }
        // the patterns are linear-time: most are answered with a result, not refused
        expect(answers.filter((a) => a.status === 200).length).toBeGreaterThan(answers.length / 2);

        expect(health.length).toBeGreaterThan(100);
        const p99 = percentile(health, 0.99);
        expect(p99, `/healthz p99 ${p99.toFixed(1)} ms over ${health.length} polls`).toBeLessThan(HEALTHZ_P99_MS);
      } finally {
        contention.stop();
      }
    },
    RUN_MS + 60_000,
  );
});
