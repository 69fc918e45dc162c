// Relay throughput and CPU per line: one carillon relay process (the built services/relay/dist/main.js, as a
// child) forwarding to 3 accumulator sinks (in-process IngestServers that count lines and ack everything durable),
// against carbon-c-relay (carbon_ch cluster of 3 plain-TCP sinks counting lines), on the same load in the same run.
// Load: realistic Graphite plaintext from separate sender processes (bench/load), a fixed number of lines per
// round; lines/s is lines that ARRIVED at the sinks over the time from the first byte sent to the last line
// received, and CPU per line is the relay process's own user + system time over that interval
// (bench/peer-rounds.ts). Rounds alternate the two relays. Bounded: LINES lines a round, RUN_TIMEOUT_MS per
// round; loopback only.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync, existsSync } from 'node:fs';
import { createConnection, createServer, type AddressInfo, type Server } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { IngestHandler, IngestServer, ReceivedBatch } from '@carillon/transport';
import { freePort } from '../test/support/ports.ts';
import { sleep } from '../test/support/wait.ts';
import { GraphiteLoad } from './load/graphite-load.ts';
import {
  alternateRounds,
  comparisonRows,
  measuredRound,
  nodeArgsFrom,
  type Contender,
  type RoundResult,
} from './peer-rounds.ts';
import type { BenchRow } from './row.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const LINES = Number(process.env.RELAY_BENCH_LINES ?? 2_000_000);
const ROUNDS = Number(process.env.RELAY_BENCH_ROUNDS ?? 3);
/** The `relay.workers` of each carillon relay run (0 = one per core), e.g. RELAY_BENCH_WORKERS=1,2,4. */
const WORKERS = (process.env.RELAY_BENCH_WORKERS ?? '1,0').split(',').map(Number);
/** carbon-c-relay's worker threads (`-w`). */
const CCR_WORKERS = Number(process.env.RELAY_BENCH_CCR_WORKERS ?? 2);
/** Extra Node flags for carillon (nodeArgsFrom), e.g. for a CPU profile. */
const NODE_ARGS = nodeArgsFrom('RELAY_BENCH_NODE_ARGS');
const SENDER_PROCESSES = 2;
const CONNECTIONS_PER_SENDER = 2;
const SERIES = 200_000;
const RUN_TIMEOUT_MS = 90_000;
const START_TIMEOUT_MS = 10_000;

/** Lines that reached the sinks so far, and when the last of them did. */
interface Counter {
  lines: number;
  lastAt: bigint;
}

/** A relay under test: its process, the port it listens on, and what its sinks counted. */
interface RunningRelay {
  child: ChildProcess;
  port: number;
  counter: Counter;
  stop: () => Promise<void>;
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

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

/** One round: the load sent once, timed until every line arrived (or the round times out). */
function round(relay: RunningRelay, load: GraphiteLoad): Promise<RoundResult> {
  return measuredRound(relay.child.pid!, async () => {
    const before = relay.counter.lines;
    const started = process.hrtime.bigint();
    const sent = await load.send(relay.port);
    const deadline = Date.now() + RUN_TIMEOUT_MS;
    while (relay.counter.lines - before < sent && Date.now() < deadline) await sleep(5);
    return {
      lines: relay.counter.lines - before,
      sent,
      seconds: Number(relay.counter.lastAt - started) / 1e9,
    };
  });
}

async function startCarillon(workers: number): Promise<RunningRelay | { error: string }> {
  const transportJs = join(root, 'packages/transport/dist/index.js');
  const mainJs = join(root, 'services/relay/dist/main.js');
  if (!existsSync(transportJs) || !existsSync(mainJs)) return { error: 'not built: run npm run build' };
  // Imported only once known to be built, so an unbuilt tree gives a row saying so instead of a crash.
  const { startIngestServer } = (await import(transportJs)) as typeof import('@carillon/transport');
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
  const settings = [
    `accumulators=${servers.map((s, i) => `sink-${i}=127.0.0.1:${s.port}`).join(',')}`,
    `graphite.tcp_listen=127.0.0.1:${port}`,
    'graphite.udp_listen=',
    'statsd.tcp_listen=',
    'pickle.tcp_listen=',
    'statsd.udp_listen=',
    'http.listen=',
    'log_level=warn',
    `relay.workers=${workers}`,
  ];
  const child = spawn(process.execPath, [...NODE_ARGS, mainJs, ...settings.flatMap((s) => ['--set', s])], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  await waitForPort(port, child);
  await sleep(300); // links connect
  return {
    child,
    port,
    counter,
    stop: async () => {
      await stopChild(child);
      await Promise.all(servers.map((s) => s.close()));
    },
  };
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

async function startCarbonCRelay(binary: string): Promise<RunningRelay> {
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
  // -s: submission mode, no statistics lines of its own mixed into the counted stream. -w workers, -b batch size,
  // -q queue size per destination (large enough not to drop in this run).
  const child = spawn(binary, ['-f', conf, '-s', '-w', String(CCR_WORKERS), '-q', '2000000', '-b', '2500'], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  await waitForPort(port, child);
  await sleep(300);
  return {
    child,
    port,
    counter,
    stop: async () => {
      await stopChild(child);
      for (const s of sinks) s.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function findCarbonCRelay(): string | undefined {
  for (const candidate of ['carbon-c-relay', '/usr/bin/carbon-c-relay', '/usr/sbin/carbon-c-relay']) {
    const probe = spawnSync(candidate, ['-v'], { encoding: 'utf8' });
    if (!probe.error) return candidate;
  }
  return undefined;
}

export default async function run(): Promise<BenchRow[]> {
  const binary = findCarbonCRelay();
  const load = await GraphiteLoad.start({
    processes: SENDER_PROCESSES,
    connectionsPerProcess: CONNECTIONS_PER_SENDER,
    lines: LINES,
    series: SERIES,
  });
  const running: RunningRelay[] = [];
  try {
    const contenders: Contender[] = [];
    for (const workers of WORKERS) {
      const carillon = await startCarillon(workers);
      if ('error' in carillon)
        return [{ name: 'relay: carillon lines/s', value: 0, unit: 'n/a', note: carillon.error }];
      running.push(carillon);
      const name = `carillon relay workers=${workers === 0 ? `${availableParallelism()} (all cores)` : workers}`;
      contenders.push({ name, round: () => round(carillon, load) });
    }
    if (binary) {
      const ccr = await startCarbonCRelay(binary);
      running.push(ccr);
      contenders.push({ name: `carbon-c-relay -w ${CCR_WORKERS}`, round: () => round(ccr, load) });
    }
    // One unmeasured round each warms the JIT, the links and the sinks' connections.
    for (const c of contenders) await c.round();
    const rows = comparisonRows('relay → 3 sinks', await alternateRounds(contenders, ROUNDS));
    if (!binary)
      rows.push({ name: 'relay: carbon-c-relay', value: 0, unit: 'n/a', note: 'carbon-c-relay not installed' });
    rows.push({
      name: 'relay: load',
      value: LINES,
      unit: 'lines a round',
      note: `${SERIES.toLocaleString('en-US')} series, ${SENDER_PROCESSES} sender processes × ${CONNECTIONS_PER_SENDER} TCP connections, ${ROUNDS} rounds`,
    });
    return rows;
  } finally {
    load.stop();
    for (const r of running) await r.stop();
  }
}
