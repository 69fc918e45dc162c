// The cost of reading through a relay: a 100-series render (`sumSeries` and the plain glob, 10 minutes of 1 s
// windows, the open window included) through a query-only relay over 3 accumulators, against the same render on
// one accumulator holding all 100 series, in the same run. Built programs as children, static member lists, memory
// stores, loopback only. The data: 100 series sent for a few seconds (the rest of the range is empty windows,
// which are read all the same). Figures: median of RENDERS sequential renders after a warm-up, and the ratio.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createConnection } from 'node:net';
import { fileURLToPath } from 'node:url';
import { freePort } from '../test/support/ports.ts';
import { sleep } from '../test/support/wait.ts';
import type { BenchRow } from './row.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const SERIES = 100;
const RENDERS = 30;
const START_TIMEOUT_MS = 20_000;
const SEND_SECONDS = 3;
const TIMES = '1s:1h,5s:1d';

interface Program {
  child: ChildProcess;
}

function start(program: string, args: Record<string, string>, ready: string): Promise<Program> {
  const argv = [join(root, program), ...Object.entries(args).flatMap(([k, v]) => ['--set', `${k}=${v}`])];
  const child = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${program} not ready in ${START_TIMEOUT_MS} ms:\n${output.slice(-2000)}`));
    }, START_TIMEOUT_MS);
    const onData = (chunk: Buffer): void => {
      if (output.length < 100_000) output += chunk.toString();
      if (output.includes(ready)) {
        clearTimeout(timer);
        resolve({ child });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${program} exited with ${code}:\n${output.slice(-2000)}`));
    });
  });
}

async function accumulator(id: string, grpc: number, http: number, members: string): Promise<Program> {
  return start(
    'services/accumulator/dist/main.js',
    {
      'member.id': id,
      'member.address': `127.0.0.1:${grpc}`,
      'grpc.listen': `127.0.0.1:${grpc}`,
      'http.listen': `127.0.0.1:${http}`,
      accumulators: members,
      times: TIMES,
      store: 'memory',
      'aggregator.grace': '1s',
      'durability.watermark_file': '',
      log_level: 'info',
    },
    'accumulator started',
  );
}

const names = Array.from({ length: SERIES }, (_, i) => `bench.host${i % 10}.m${i}`);

async function sendTcp(port: number, seconds: number): Promise<void> {
  const socket = createConnection(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  for (let s = 0; s < seconds * 4; s++) {
    const now = Math.floor(Date.now() / 1000);
    socket.write(names.map((n, i) => `${n} ${(s * 7 + i) % 100} ${now}\n`).join(''));
    await sleep(250);
  }
  await new Promise<void>((resolve) => socket.end(resolve));
}

async function postLines(port: number, seconds: number): Promise<void> {
  for (let s = 0; s < seconds * 4; s++) {
    const now = Math.floor(Date.now() / 1000);
    const body = names.map((n, i) => `${n} ${(s * 7 + i) % 100} ${now}\n`).join('');
    const response = await fetch(`http://127.0.0.1:${port}/lines?format=graphite`, { method: 'POST', body });
    await response.text();
    await sleep(250);
  }
}

/** Median milliseconds of a render on `port`, and the series it answered. */
async function renderMs(port: number, target: string): Promise<{ ms: number; series: number }> {
  const url = `http://127.0.0.1:${port}/render?target=${encodeURIComponent(target)}&from=-10min&format=json`;
  let series = 0;
  for (let i = 0; i < 5; i++) await (await fetch(url)).text();
  const times: number[] = [];
  for (let i = 0; i < RENDERS; i++) {
    const started = performance.now();
    const response = await fetch(url);
    const body = (await response.json()) as unknown[];
    times.push(performance.now() - started);
    if (response.status !== 200) throw new Error(`render answered ${response.status}`);
    series = body.length;
  }
  times.sort((a, b) => a - b);
  return { ms: times[Math.floor(times.length / 2)]!, series };
}

export default async function run(): Promise<BenchRow[]> {
  const programs: Program[] = [];
  try {
    // The cluster: 3 accumulators, a relay carrying the traffic, and a query-only relay.
    const ports = await Promise.all([0, 1, 2].map(async () => ({ grpc: await freePort(), http: await freePort() })));
    const members = ports.map((p, i) => `b${i}=127.0.0.1:${p.grpc}`).join(',');
    for (const [i, p] of ports.entries()) programs.push(await accumulator(`b${i}`, p.grpc, p.http, members));
    const graphite = await freePort();
    const relayHttp = await freePort();
    const relayArgs = {
      accumulators: members,
      times: TIMES,
      'graphite.udp_listen': '',
      'statsd.udp_listen': '',
      'statsd.tcp_listen': '',
      'pickle.tcp_listen': '',
      'http.listen': `127.0.0.1:${relayHttp}`,
      'graphite.tcp_listen': `127.0.0.1:${graphite}`,
      'link.max_batch_delay': '20ms',
    };
    programs.push(await start('services/relay/dist/main.js', relayArgs, 'relay started'));
    // One node holding everything: an accumulator alone in its ring.
    const single = { grpc: await freePort(), http: await freePort() };
    programs.push(await accumulator('solo', single.grpc, single.http, `solo=127.0.0.1:${single.grpc}`));

    await Promise.all([sendTcp(graphite, SEND_SECONDS), postLines(single.http, SEND_SECONDS)]);
    await sleep(500);
    const rows: BenchRow[] = [];
    for (const target of ['bench.*.*', 'sumSeries(bench.*.*)']) {
      const cluster = await renderMs(relayHttp, target);
      const node = await renderMs(single.http, target);
      const expected = target.startsWith('sum') ? 1 : SERIES;
      if (cluster.series !== expected || node.series !== expected)
        throw new Error(`${target}: relay answered ${cluster.series} series, node ${node.series}, want ${expected}`);
      const note = `${SERIES} series × 600 windows, median of ${RENDERS}`;
      rows.push({ name: `render ${target} through a relay over 3 accumulators`, value: cluster.ms, unit: 'ms', note });
      rows.push({ name: `render ${target} on one node`, value: node.ms, unit: 'ms', note });
      rows.push({ name: `render ${target}: relay / one node`, value: cluster.ms / node.ms, unit: '×' });
    }
    return rows;
  } finally {
    for (const p of programs) if (p.child.exitCode === null) p.child.kill('SIGKILL');
  }
}
