// Relay throughput: lines/s forwarded by one carillon relay process (the built services/relay/dist/main.js,
// as a child, once per `relay.workers` count in RELAY_BENCH_WORKERS, default "1,0") to 3 accumulator sinks (in-process IngestServers that count lines and ack everything durable),
// and the same load through carbon-c-relay (carbon_ch cluster of 3 plain-TCP sinks counting lines).
// Load: realistic Graphite plaintext over several TCP connections, a fixed number of lines; the figure is lines
// that ARRIVED at the sinks divided by the time from the first byte sent to the last line received.
// Bounded: LINES lines, RUN_TIMEOUT_MS per run; loopback only. Load generator and sinks share this process.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync, existsSync } from 'node:fs';
import { createConnection, createServer, type AddressInfo, type Server } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { IngestHandler, IngestServer, ReceivedBatch } from '@carillon/transport';
import { freePort } from '../test/support/ports.ts';
import { sleep } from '../test/support/wait.ts';
import type { BenchRow } from './row.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const LINES = Number(process.env.RELAY_BENCH_LINES ?? 2_000_000);
const CONNECTIONS = 4;
const LINES_PER_CHUNK = 1000;
const RUN_TIMEOUT_MS = 90_000;
const START_TIMEOUT_MS = 10_000;
/** The relay's `relay.workers` of each carillon run (0 = one per core), e.g. RELAY_BENCH_WORKERS=1,2,4. */
const WORKERS = (process.env.RELAY_BENCH_WORKERS ?? '1,0').split(',').map(Number);

/** Lines that reached the sinks so far, and when the last of them did. */
interface Counter {
  lines: number;
  lastAt: bigint;
}

interface Measured {
  sent: number;
  arrived: number;
  seconds: number;
  rate: number;
}

/** Pre-built chunks of newline-terminated lines: 200k distinct series over hosts, metrics and instances. */
function buildChunks(): Buffer[] {
  const metrics = ['cpu.user', 'cpu.system', 'cpu.idle', 'memory.used', 'disk.sda.reads', 'net.eth0.rx_bytes'];
  const now = Math.floor(Date.now() / 1000);
  const chunks: Buffer[] = [];
  let n = 0;
  for (let c = 0; c < 200; c++) {
    const lines: string[] = [];
    for (let i = 0; i < LINES_PER_CHUNK; i++, n++) {
      const host = n % 2000;
      const metric = metrics[n % metrics.length]!; // n % length is an index
      lines.push(`prod.servers.web-${host}.${metric}.i${(n >> 4) % 17} ${(n % 1000) * 0.37} ${now - (n % 30)}`);
    }
    chunks.push(Buffer.from(lines.join('\n') + '\n'));
  }
  return chunks;
}

/** Sends LINES lines spread over CONNECTIONS sockets, respecting socket backpressure. */
async function sendLoad(port: number, chunks: Buffer[]): Promise<number> {
  const perConnection = Math.ceil(LINES / LINES_PER_CHUNK / CONNECTIONS);
  let chunksLeft = Math.ceil(LINES / LINES_PER_CHUNK);
  const one = (offset: number): Promise<void> =>
    new Promise((resolve, reject) => {
      const socket = createConnection(port, '127.0.0.1');
      socket.on('error', reject);
      socket.on('connect', async () => {
        for (let i = 0; i < perConnection && chunksLeft > 0; i++) {
          chunksLeft--;
          if (!socket.write(chunks[(offset + i) % chunks.length]!)) await new Promise((r) => socket.once('drain', r));
        }
        socket.end(() => resolve());
      });
    });
  await Promise.all(Array.from({ length: CONNECTIONS }, (_, c) => one(c * 37)));
  return Math.ceil(LINES / LINES_PER_CHUNK) * LINES_PER_CHUNK;
}

async function waitForPort(port: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`process exited with ${child.exitCode}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = createConnection(port, '127.0.0.1');
      s.on('connect', () => (s.destroy(), resolve(true)));
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(50);
  }
  throw new Error(`nothing listening on ${port} after ${START_TIMEOUT_MS} ms`);
}

/** Drives the load and waits until `arrived()` reaches the total, or the run times out. */
async function measure(port: number, chunks: Buffer[], counter: Counter): Promise<Measured> {
  const started = process.hrtime.bigint();
  const sent = await sendLoad(port, chunks);
  const deadline = Date.now() + RUN_TIMEOUT_MS;
  while (counter.lines < sent && Date.now() < deadline) await sleep(10);
  const seconds = Number(counter.lastAt - started) / 1e9;
  return { sent, arrived: counter.lines, seconds, rate: counter.lines / seconds };
}

async function benchCarillon(chunks: Buffer[], workers: number): Promise<Measured | { error: string }> {
  const distDir = join(root, 'packages/transport/dist/index.js');
  const mainJs = join(root, 'services/relay/dist/main.js');
  if (!existsSync(distDir) || !existsSync(mainJs)) return { error: 'not built: run npx tsc -b tsconfig.build.json' };
  // Imported only once known to be built, so an unbuilt tree gives a row saying so instead of a crash.
  const { startIngestServer } = (await import(distDir)) as typeof import('@carillon/transport');
  const { MetricsRegistry } = (await import(
    join(root, 'packages/core/dist/index.js')
  )) as typeof import('@carillon/core');
  const counter: Counter = { lines: 0, lastAt: process.hrtime.bigint() };
  const servers: IngestServer[] = [];
  for (let i = 0; i < 3; i++) {
    const highest = new Map<string, number>();
    const handler: IngestHandler = {
      process(batch: ReceivedBatch) {
        counter.lines += batch.lineCount;
        counter.lastAt = process.hrtime.bigint();
        highest.set(batch.relayId, batch.sequence);
      },
      // A sink keeps nothing: everything processed counts as durable, so the relay's retention drains.
      durableSequence: (relayId: string) => highest.get(relayId) ?? 0,
      status: () => ({ memberId: `sink-${i}`, ringVersion: 1, series: 0 }),
    };
    servers.push(
      await startIngestServer(
        { host: '127.0.0.1', port: 0, maxMessageBytes: 16 << 20, keepaliveTimeMs: 30_000, keepaliveTimeoutMs: 10_000 },
        handler,
        new MetricsRegistry(),
      ),
    );
  }
  const port = await freePort();
  const args = [
    mainJs,
    '--set',
    `accumulators=${servers.map((s, i) => `sink-${i}=127.0.0.1:${s.port}`).join(',')}`,
    '--set',
    `graphite.tcp_listen=127.0.0.1:${port}`,
    '--set',
    'graphite.udp_listen=',
    '--set',
    'statsd.tcp_listen=',
    '--set',
    'pickle.tcp_listen=',
    '--set',
    'statsd.udp_listen=',
    '--set',
    'http.listen=',
    '--set',
    'log_level=warn',
    '--set',
    `relay.workers=${workers}`,
  ];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'inherit', 'inherit'] });
  try {
    await waitForPort(port, child);
    await sleep(300); // links connect
    return await measure(port, chunks, counter);
  } finally {
    child.kill('SIGTERM');
    await new Promise<void>((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', () => resolve())));
    await Promise.all(servers.map((s) => s.close()));
  }
}

async function lineCountingSink(counter: Counter): Promise<Server> {
  const server = createServer((socket) => {
    socket.on('data', (chunk: Buffer) => {
      let n = 0;
      for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) n++;
      counter.lines += n;
      counter.lastAt = process.hrtime.bigint();
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

async function benchCarbonCRelay(chunks: Buffer[], binary: string): Promise<Measured> {
  const counter: Counter = { lines: 0, lastAt: process.hrtime.bigint() };
  const sinks: Server[] = [];
  for (let i = 0; i < 3; i++) sinks.push(await lineCountingSink(counter));
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'ccr-bench-'));
  const conf = join(dir, 'relay.conf');
  writeFileSync(
    conf,
    `listen type linemode 127.0.0.1:${port} proto tcp;\ncluster sinks carbon_ch\n  ${sinks.map((s) => `127.0.0.1:${(s.address() as AddressInfo).port}`).join('\n  ')}\n  ;\nmatch * send to sinks stop;\n`,
  );
  // -s: submission mode, no statistics lines of its own mixed into the counted stream. -w 2 workers, -b batch size, -q queue size per destination (large enough not to drop in this run).
  const child = spawn(binary, ['-f', conf, '-s', '-w', '2', '-q', '2000000', '-b', '2500'], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  try {
    await waitForPort(port, child);
    await sleep(300);
    return await measure(port, chunks, counter);
  } finally {
    child.kill('SIGTERM');
    await new Promise<void>((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', () => resolve())));
    for (const s of sinks) s.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function findCarbonCRelay(): string | undefined {
  for (const candidate of ['carbon-c-relay', '/usr/bin/carbon-c-relay', '/usr/sbin/carbon-c-relay']) {
    const probe = spawnSync(candidate, ['-v'], { encoding: 'utf8' });
    if (!probe.error) return candidate;
  }
  return undefined;
}

export default async function run(): Promise<BenchRow[]> {
  const chunks = buildChunks();
  const rows: BenchRow[] = [];
  const note = (r: Measured): string =>
    `${r.arrived.toLocaleString('en-US')}/${r.sent.toLocaleString('en-US')} lines arrived in ${r.seconds.toFixed(2)} s, ${CONNECTIONS} TCP connections, 3 sinks`;
  let carillon: Measured | undefined;
  for (const workers of WORKERS) {
    const run = await benchCarillon(chunks, workers);
    if ('error' in run) return [{ name: 'relay: carillon lines/s', value: 0, unit: 'n/a', note: run.error }];
    const threads = workers === 0 ? `0 = ${availableParallelism()} cores` : String(workers);
    rows.push({
      name: `relay: carillon relay (relay.workers=${threads}) → 3 gRPC sinks`,
      value: run.rate,
      unit: 'lines/s',
      note: note(run),
    });
    if (carillon === undefined || run.rate > carillon.rate) carillon = run;
  }
  if (carillon === undefined) return rows;
  const binary = findCarbonCRelay();
  if (!binary) {
    rows.push({
      name: 'relay: carbon-c-relay',
      value: 0,
      unit: 'n/a',
      note: 'carbon-c-relay not installed; no comparison',
    });
    return rows;
  }
  const ccr = await benchCarbonCRelay(chunks, binary);
  rows.push({
    name: 'relay: carbon-c-relay -w 2 → 3 TCP sinks (carbon_ch)',
    value: ccr.rate,
    unit: 'lines/s',
    note: note(ccr),
  });
  rows.push({ name: 'relay: carillon (best run) / carbon-c-relay', value: carillon.rate / ccr.rate, unit: 'ratio' });
  return rows;
}
