/**
 * Connections capped without locking clients out (issue 13), against the built all-in-one with whisper files:
 * - 5 000 idle Graphite TCP connections at graphite.max_connections: a new client still gets every line in (the
 *   longest-silent connection is closed for it, counted as evicted).
 * - 20 000 half-sent HTTP requests (headers never finished) from a separate process: the
 *   server holds at most http.max_connections, evicting the oldest; meanwhile Graphite TCP lines and POST /lines
 *   bodies keep flowing and every one of them is written to its whisper file, checked against an oracle.
 * Under CPU contention.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { createConnection, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBusyLoops, type Contention } from '../support/contention.js';
import { freePort } from '../support/ports.js';
import { sleep, waitFor } from '../support/wait.js';
import { getJson, getText, metricValue, sendTcp, startProgram, type RunningProgram } from '../e2e/programs.js';

const PROGRAM = 'services/allinone/dist/main.js';
const IDLE_TCP = 5_000;
const HALF_SENT = 20_000;
const HTTP_CAP = 1_000;

function connect(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: '127.0.0.1', port }, () => resolve(socket));
    socket.once('error', reject);
  });
}

/** POST /lines on a connection of its own; retried (bounded) when the connection is cut before an answer. */
async function postLines(port: number, body: string): Promise<{ accepted: number }> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await new Promise((resolve, reject) => {
        const req = request(
          { host: '127.0.0.1', port, path: '/lines?format=graphite', method: 'POST', agent: false, timeout: 10_000 },
          (res) => {
            let text = '';
            res.setEncoding('utf8');
            res.on('data', (chunk: string) => (text += chunk));
            res.on('end', () =>
              res.statusCode === 200 ? resolve(JSON.parse(text) as { accepted: number }) : reject(new Error(text)),
            );
          },
        );
        req.on('timeout', () => req.destroy(new Error('POST timed out')));
        req.on('error', reject);
        req.end(body);
      });
    } catch (error) {
      // A connection refused or cut before its request was read ingested nothing: sending again is exact.
      if (attempt >= 20) throw error;
      await sleep(100);
    }
  }
}

/** A child process that opens `count` connections, each sending half a request and holding it. */
function startHalfSentFlood(port: number, count: number): { done: Promise<string> } {
  const script = `
    const net = require('node:net');
    let opened = 0, closed = 0, failed = 0, started = 0;
    const head = 'POST /lines?format=graphite HTTP/1.1\\r\\nHost: x\\r\\nContent-Length: 100\\r\\n';
    function one() {
      started++;
      const s = net.createConnection({ host: '127.0.0.1', port: ${port} }, () => { opened++; s.write(head); });
      s.on('error', () => failed++);
      s.on('close', () => { closed++; s.destroy(); });
    }
    (async () => {
      for (let i = 0; i < ${count}; i++) {
        one();
        if (i % 200 === 199) await new Promise((r) => setTimeout(r, 10));
      }
      const deadline = Date.now() + 60000;
      while (closed < started && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      console.log(JSON.stringify({ started, opened, closed, failed }));
      process.exit(0);
    })();`;
  // Its own process: the connections it holds count against its fd limit (20 000 here, not raisable without
  // CAP_SYS_RESOURCE), not the test's; the server closing the ones it evicts keeps that within bounds.
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  return {
    done: new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`the flood did not finish: ${out}`));
      }, 150_000);
      child.once('exit', (code) => {
        clearTimeout(timer);
        if (code === 0) resolve(out);
        else reject(new Error(`the flood exited ${code}: ${out}`));
      });
    }),
  };
}

describe('connections capped without locking clients out', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'carillon-limits-'));
  let program: RunningProgram;
  let ports: { http: number; graphite: number };
  let contention: Contention;
  const metrics = (): Promise<string> => getText(`http://127.0.0.1:${ports.http}/metrics`);

  beforeAll(async () => {
    ports = { http: await freePort(), graphite: await freePort() };
    const set = (pairs: Record<string, string>): string[] =>
      Object.entries(pairs).flatMap(([k, v]) => ['--set', `${k}=${v}`]);
    program = await startProgram(
      PROGRAM,
      set({
        'whisper.data_dir': dataDir,
        'http.listen': `127.0.0.1:${ports.http}`,
        'http.max_connections': String(HTTP_CAP),
        'graphite.tcp_listen': `127.0.0.1:${ports.graphite}`,
        'graphite.max_connections': String(IDLE_TCP),
        'graphite.udp_listen': '',
        'statsd.udp_listen': '',
        'statsd.tcp_listen': '',
        'pickle.tcp_listen': '',
        times: '2s:1h',
        'aggregator.grace': '1s',
        log_level: 'info',
      }),
      'carillon started',
    );
    contention = startBusyLoops(2, 240_000);
  });

  afterAll(async () => {
    contention?.stop();
    await program?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it(`${IDLE_TCP} idle TCP connections do not lock out a new client`, async () => {
    const idle: Socket[] = [];
    try {
      for (let i = 0; i < IDLE_TCP; i++) idle.push(await connect(ports.graphite));
      await waitFor(
        'every idle connection open',
        async () =>
          metricValue(
            await metrics(),
            'carillon_listener_connections_active',
            '{protocol="graphite",transport="tcp"}',
          ) === IDLE_TCP,
        30_000,
        200,
      );
      // Silent for over a second: evictable.
      await sleep(1_500);
      const before = metricValue(await metrics(), 'carillon_lines_accepted_total', '{protocol="graphite"}');
      const lines = Array.from({ length: 100 }, (_, i) => `limits.tcp.k${i}.count 1`);
      await sendTcp(ports.graphite, lines.join('\n') + '\n');
      await waitFor(
        'the new client’s lines',
        async () =>
          metricValue(await metrics(), 'carillon_lines_accepted_total', '{protocol="graphite"}') === before + 100,
        20_000,
        100,
      );
      const text = await metrics();
      expect(
        metricValue(text, 'carillon_listener_connections_evicted_total', '{protocol="graphite",transport="tcp"}'),
      ).toBeGreaterThan(0);
      expect(
        metricValue(text, 'carillon_listener_connections_refused_total', '{protocol="graphite",transport="tcp"}'),
      ).toBe(0);
    } finally {
      for (const socket of idle) socket.destroy();
    }
  }, 120_000);

  it(`${HALF_SENT} half-sent HTTP requests stop neither ingest nor writes`, async () => {
    const flood = startHalfSentFlood(ports.http, HALF_SENT);
    // The oracle: every key gets one point per round (value = round), Graphite TCP and POST /lines by turns.
    const oracle = new Map<string, number>();
    const rounds = 20;
    for (let round = 1; round <= rounds; round++) {
      const tcp = Array.from({ length: 50 }, (_, i) => `limits.flood.tcp${i}.count`);
      const http = Array.from({ length: 50 }, (_, i) => `limits.flood.http${i}.count`);
      await sendTcp(ports.graphite, tcp.map((k) => `${k} ${round}`).join('\n') + '\n');
      const answer = await postLines(ports.http, http.map((k) => `${k} ${round}`).join('\n') + '\n');
      expect(answer.accepted).toBe(50);
      for (const key of [...tcp, ...http]) oracle.set(key, (oracle.get(key) ?? 0) + round);
      await sleep(200);
    }
    const summary = JSON.parse((await flood.done).trim().split('\n').pop()!) as { started: number };
    expect(summary.started).toBe(HALF_SENT);
    const text = await metrics();
    const evicted = metricValue(text, 'carillon_http_connections_evicted_total', '{server="node"}');
    const refused = metricValue(text, 'carillon_http_connections_refused_total', '{server="node"}');
    expect(evicted + refused).toBeGreaterThan(HALF_SENT - 2 * HTTP_CAP);
    console.log(
      `half-sent flood: evicted ${evicted}, refused ${refused}, timeouts ${metricValue(text, 'carillon_http_client_errors_total', '{server="node",reason="timeout"}')}`,
    );
    // Every point in a whisper file: the sum over the range (count names sum) is the oracle's, key by key.
    await waitFor(
      'every key written',
      async () => metricValue(await metrics(), 'carillon_whisper_files_created_total') >= 100 + 100,
      30_000,
      250,
    );
    const stored = new Map<string, number>();
    await waitFor(
      'the stored sums to match the oracle',
      async () => {
        const series = await getJson<{ target: string; datapoints: [number | null, number][] }[]>(
          `http://127.0.0.1:${ports.http}/render?format=json&target=limits.flood.*.count&from=-10min&until=now`,
        );
        stored.clear();
        for (const s of series)
          stored.set(
            s.target,
            s.datapoints.reduce((sum, [v]) => sum + (v ?? 0), 0),
          );
        return [...oracle].every(([key, sum]) => stored.get(key) === sum);
      },
      30_000,
      500,
    );
    expect(Object.fromEntries(stored)).toEqual(Object.fromEntries(oracle));
    expect(metricValue(text, 'carillon_whisper_errors_total', '{operation="create"}')).toBe(0);
    expect(metricValue(text, 'carillon_whisper_errors_total', '{operation="write"}')).toBe(0);
  }, 200_000);
});
