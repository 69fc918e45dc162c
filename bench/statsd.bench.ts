// StatsD lines per second, and CPU per line, of carillon's all-in-one against the reference daemon (npm statsd
// 0.9.0) on the same UDP load in the same run, in rounds that alternate the two (bench/peer-rounds.ts: each
// daemon's own user + system time over the measured interval, median and spread of STATSD_BENCH_ROUNDS).
// Lines are counted as processed by each daemon, not as sent: carillon's
// carillon_lines_accepted_total{protocol="statsd"} (/metrics), the reference's statsd.metrics_received counter
// (management port `counters`). Each daemon gets the load alone (2 cores: sender + daemon); the time is from
// the first datagram to the last increase of its counter, polled every POLL_MS. Both use the OS default UDP
// receive buffer (the reference cannot set one). The load is offered at a fixed rate above what either keeps up
// with on 2 cores; what a daemon drops is not counted. (Much faster offers measure the sender, not the daemons;
// a loss-free-rate search was too sensitive to 20 ms stalls with the default 212 KB buffer to be repeatable.)
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { freePort } from '../test/support/ports.ts';
import { sleep } from '../test/support/wait.ts';
import { alternateRounds, comparisonRows, measuredRound, type RoundResult } from './peer-rounds.ts';
import type { BenchRow } from './row.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const KEYS = 5_000;
const LINES_PER_DATAGRAM = 40;
/** The load: OFFERED_RATE lines/s for OFFERED_SECONDS, the same datagrams for both daemons. */
const OFFERED_RATE = 1_000_000;
const OFFERED_SECONDS = 2;
const POLL_MS = 100;
const ROUNDS = Number(process.env.STATSD_BENCH_ROUNDS ?? 3);

/** What one daemon processed of one trial's load. */
interface Trial {
  lines: number;
  sent: number;
  seconds: number;
}

/** Mixed traffic over KEYS keys: counters (some sampled), timers, gauges with deltas, sets; LINES_PER_DATAGRAM a datagram. */
function datagrams(lines: number, seed: number): Buffer[] {
  let state = seed;
  const next = () => (state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const out: Buffer[] = [];
  let current = '';
  for (let i = 0; i < lines; i++) {
    const key = Math.floor(next() * KEYS);
    const r = next();
    const line =
      r < 0.4
        ? `bench.c.${key}:${Math.floor(next() * 10)}|c${r < 0.1 ? '|@0.5' : ''}`
        : r < 0.7
          ? `bench.ms.${key}:${(next() * 500).toFixed(2)}|ms`
          : r < 0.85
            ? `bench.g.${key}:${r < 0.8 ? '' : '+'}${(next() * 100).toFixed(1)}|g`
            : `bench.s.${key}:u${Math.floor(next() * 50)}|s`;
    current = current ? `${current}\n${line}` : line;
    if ((i + 1) % LINES_PER_DATAGRAM === 0) {
      out.push(Buffer.from(current));
      current = '';
    }
  }
  if (current) out.push(Buffer.from(current));
  return out;
}

function startChild(args: string[], readyText: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not ready: ${args.join(' ')}\n${output}`)), 20_000);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      if (output.includes(readyText)) {
        clearTimeout(timer);
        resolve(child);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`exited with ${code}:\n${output}`)));
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

async function carillonAccepted(httpPort: number): Promise<number> {
  const text = await new Promise<string>((resolve, reject) => {
    get(`http://127.0.0.1:${httpPort}/metrics`, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve(body));
    }).once('error', reject);
  });
  const match = /^carillon_lines_accepted_total\{protocol="statsd"\} (\d+)/m.exec(text);
  return match ? Number(match[1]) : 0;
}

function referenceReceived(mgmtPort: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let text = '';
    const socket = createConnection({ host: '127.0.0.1', port: mgmtPort }, () => socket.write('counters\n'));
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      text += chunk;
      if (text.includes('END')) {
        socket.destroy();
        const match = /'statsd\.metrics_received': (\d+)/.exec(text);
        if (match) resolve(Number(match[1]));
        else reject(new Error(`no metrics_received in ${text.slice(0, 200)}`));
      }
    });
    socket.once('error', reject);
  });
}

/**
 * Sends `load` to `port` at `linesPerSecond` and returns the lines `counter()` counted, the lines sent and the
 * seconds from the first datagram to the counter's last increase.
 */
async function trial(
  load: Buffer[],
  port: number,
  counter: () => Promise<number>,
  linesPerSecond: number,
): Promise<Trial> {
  const linesPerDatagram = LINES_PER_DATAGRAM;
  const before = await counter();
  const socket = createSocket('udp4');
  const started = performance.now();
  let sent = 0;
  while (sent < load.length) {
    const due = Math.min(
      load.length,
      Math.ceil(((performance.now() - started) / 1000) * (linesPerSecond / linesPerDatagram)),
    );
    for (; sent < due; sent++) socket.send(load[sent]!, port, '127.0.0.1'); // sent < due <= load.length
    await sleep(1);
  }
  let last = before;
  let lastChange = started;
  let stableSince = performance.now();
  for (;;) {
    await sleep(POLL_MS);
    const now = await counter();
    if (now !== last) {
      last = now;
      lastChange = performance.now();
      stableSince = lastChange;
    } else if (performance.now() - stableSince > 4 * POLL_MS) break;
  }
  socket.close();
  return { lines: last - before, sent: load.length * linesPerDatagram, seconds: (lastChange - started) / 1000 };
}

/** One round: the same bounded load, measured over the daemon's process. */
function round(pid: number, load: Buffer[], port: number, counter: () => Promise<number>): Promise<RoundResult> {
  return measuredRound(pid, async () => {
    const t = await trial(load, port, counter, OFFERED_RATE);
    return { lines: t.lines, sent: t.sent, seconds: t.seconds };
  });
}

export default async function run(): Promise<BenchRow[]> {
  const dir = mkdtempSync(join(tmpdir(), 'carillon-statsd-bench-'));
  const [httpPort, carillonUdp, referenceUdp, mgmtPort] = [
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
  ];
  const rows: BenchRow[] = [];
  let carillon: ChildProcess | undefined;
  let reference: ChildProcess | undefined;
  try {
    const config = join(dir, 'carillon.toml');
    writeFileSync(
      config,
      [
        // Like the reference below, no flush during the run: the figures are ingest, not flush, throughput.
        'times = ["1h:1d"]',
        'store = "memory"',
        'log_level = "info"',
        `[http]\nlisten = "127.0.0.1:${httpPort}"`,
        '[graphite]\ntcp_listen = ""\nudp_listen = ""',
        '[pickle]\ntcp_listen = ""',
        `[statsd]\ntcp_listen = ""\nudp_listen = "127.0.0.1:${carillonUdp}"`,
      ].join('\n'),
    );
    carillon = await startChild([join(root, 'services/allinone/dist/main.js'), '--config', config], 'carillon started');

    // No graphiteHost: the reference computes its flushes and discards them; a long interval keeps its
    // metrics_received counter from being reset during the run.
    const referenceConfig = join(dir, 'reference.js');
    writeFileSync(
      referenceConfig,
      JSON.stringify({
        port: referenceUdp,
        address: '127.0.0.1',
        mgmt_port: mgmtPort,
        mgmt_address: '127.0.0.1',
        flushInterval: 3_600_000,
      }),
    );
    // The shim gives statsd 0.9.0 the util.log that Node 23 removed (as in test/statsd).
    const shim = join(root, 'test/statsd/util-log-shim.mjs');
    reference = await startChild(
      ['--import', shim, join(root, 'node_modules/statsd/stats.js'), referenceConfig],
      'server is up',
    );
    // It logs "server is up" before its management port is listening.
    for (let attempt = 0; ; attempt++) {
      try {
        await referenceReceived(mgmtPort);
        break;
      } catch (error) {
        if (attempt === 50) throw error;
        await sleep(100);
      }
    }
    const load = datagrams(Math.round((OFFERED_RATE * OFFERED_SECONDS) / LINES_PER_DATAGRAM) * LINES_PER_DATAGRAM, 3);
    const ours = carillon;
    const theirs = reference;
    const contenders = [
      {
        name: 'carillon all-in-one',
        round: () => round(ours.pid!, load, carillonUdp, () => carillonAccepted(httpPort)),
      },
      {
        name: 'reference statsd 0.9.0',
        round: () => round(theirs.pid!, load, referenceUdp, () => referenceReceived(mgmtPort)),
      },
    ];
    // A warm-up of an eighth of the load each, unmeasured.
    await trial(load.slice(0, load.length / 8), carillonUdp, () => carillonAccepted(httpPort), OFFERED_RATE);
    await trial(load.slice(0, load.length / 8), referenceUdp, () => referenceReceived(mgmtPort), OFFERED_RATE);
    rows.push(...comparisonRows('statsd UDP', await alternateRounds(contenders, ROUNDS)), {
      name: 'statsd UDP: offered load',
      value: OFFERED_RATE,
      unit: 'lines/s',
      note: `${(OFFERED_RATE * OFFERED_SECONDS).toLocaleString('en-US')} lines a round, ${KEYS.toLocaleString('en-US')} keys, ${LINES_PER_DATAGRAM} lines a datagram`,
    });
  } finally {
    if (carillon) await stopChild(carillon);
    if (reference) await stopChild(reference);
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}
