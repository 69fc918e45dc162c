// Single-node Graphite ingest against VictoriaMetrics (Debian's victoria-metrics, `-graphiteListenAddr`) on the
// same load in the same run: carillon's all-in-one on the memory store and on its default (whisper files and
// the write-ahead log), each a child process. Lines are counted as taken in by each program, not as sent:
// carillon_lines_accepted_total{protocol="graphite"} and VictoriaMetrics' vm_rows_inserted_total{type="graphite"},
// polled every POLL_MS; the time runs from the first byte sent to the poll that saw the last line. CPU per line
// is each program's own user + system time over that interval, resident memory is read after each round
// (bench/peer-rounds.ts). Rounds alternate the programs. SINGLE_NODE_BENCH_SERIES and _LINES size the load (the
// issue's memory figure: 1,000,000 series and 3,000,000 lines). The default round is 10 M lines, several seconds:
// VictoriaMetrics' counter moves in steps of about a second, so a round of 1 or 2 M lines timed it at ~1 s
// whatever its speed. Bounded: LINES a round, RUN_TIMEOUT_MS a round.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../test/support/ports.ts';
import { sleep } from '../test/support/wait.ts';
import { GraphiteLoad } from './load/graphite-load.ts';
import {
  alternateRounds,
  comparisonRows,
  measuredRound,
  nodeArgsFrom,
  residentBytes,
  type Contender,
  type RoundResult,
} from './peer-rounds.ts';
import type { BenchRow } from './row.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const SERIES = Number(process.env.SINGLE_NODE_BENCH_SERIES ?? 10_000);
const LINES = Number(process.env.SINGLE_NODE_BENCH_LINES ?? 10_000_000);
const ROUNDS = Number(process.env.SINGLE_NODE_BENCH_ROUNDS ?? 3);
/** Which carillon stores run (a million series would be a million whisper files: SINGLE_NODE_BENCH_STORES=memory). */
const STORES = (process.env.SINGLE_NODE_BENCH_STORES ?? 'memory,whisper').split(',');
/** Extra Node flags for carillon (nodeArgsFrom), e.g. for a CPU profile. */
const NODE_ARGS = nodeArgsFrom('SINGLE_NODE_BENCH_NODE_ARGS');
const SENDER_PROCESSES = 2;
const CONNECTIONS_PER_SENDER = 2;
const POLL_MS = 25;
const RUN_TIMEOUT_MS = 120_000;
const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;
const MiB = 1024 * 1024;

/** A program under test: its process, its Graphite port, and how many lines it has taken in so far. */
interface Program {
  child: ChildProcess;
  graphitePort: number;
  taken: () => Promise<number>;
}

function httpText(url: string, okOnly = false): Promise<string> {
  return new Promise((resolve, reject) => {
    const request = get(url, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () =>
        okOnly && res.statusCode !== 200 ? reject(new Error(`${url}: ${res.statusCode}`)) : resolve(body),
      );
    });
    request.setTimeout(5_000, () => request.destroy(new Error(`${url}: no answer in 5 s`)));
    request.once('error', reject);
  });
}

/** The value of the first sample of `metric` whose labels match `labels`, or 0 while it is absent. */
async function sample(url: string, metric: string, labels: string): Promise<number> {
  const text = await httpText(url);
  const match = new RegExp(`^${metric}\\{${labels}\\} (\\d+(?:\\.\\d+)?(?:e\\+\\d+)?)`, 'm').exec(text);
  return match ? Number(match[1]) : 0;
}

async function waitUntil(what: string, child: ChildProcess, ready: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode}`);
    if (await ready().catch(() => false)) return;
    await sleep(100);
  }
  throw new Error(`${what} not ready after ${START_TIMEOUT_MS} ms`);
}

/** SIGTERM (so a --cpu-prof profile is written), SIGKILL if the program has not exited after STOP_TIMEOUT_MS. */
async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}

async function startCarillon(dir: string, store: 'memory' | 'whisper'): Promise<Program> {
  const [graphitePort, httpPort] = [await freePort(), await freePort()];
  const config = join(dir, `carillon-${store}.toml`);
  writeFileSync(
    config,
    [
      `store = "${store}"`,
      'log_level = "warn"',
      // Room for every point of the run: the memory store evicts past memory.max_points (2 M by default), and
      // evicting sorts every time held, which would be measured instead of ingest at a million series.
      `[memory]\nmax_points = ${Math.max(2_000_000, SERIES * 8)}`,
      `[whisper]\ndata_dir = "${join(dir, `whisper-${store}`)}"`,
      `[http]\nlisten = "127.0.0.1:${httpPort}"`,
      `[graphite]\ntcp_listen = "127.0.0.1:${graphitePort}"\nudp_listen = ""`,
      '[pickle]\ntcp_listen = ""',
      '[statsd]\ntcp_listen = ""\nudp_listen = ""',
    ].join('\n'),
  );
  const child = spawn(
    process.execPath,
    [...NODE_ARGS, join(root, 'services/allinone/dist/main.js'), '--config', config],
    {
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  const metrics = `http://127.0.0.1:${httpPort}/metrics`;
  // Ready once the listeners are bound (in their threads, after the HTTP server is up).
  const readyz = `http://127.0.0.1:${httpPort}/readyz`;
  await waitUntil(`carillon (${store})`, child, async () => (await httpText(readyz, true)).length >= 0);
  return {
    child,
    graphitePort,
    taken: () => sample(metrics, 'carillon_lines_accepted_total', 'protocol="graphite"'),
  };
}

async function startVictoriaMetrics(dir: string): Promise<Program> {
  const [graphitePort, httpPort] = [await freePort(), await freePort()];
  const child = spawn(
    'victoria-metrics',
    [
      `-graphiteListenAddr=127.0.0.1:${graphitePort}`,
      `-httpListenAddr=127.0.0.1:${httpPort}`,
      `-storageDataPath=${join(dir, 'victoria-metrics')}`,
      '-retentionPeriod=1',
      '-loggerLevel=ERROR',
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const metrics = `http://127.0.0.1:${httpPort}/metrics`;
  await waitUntil('victoria-metrics', child, async () => (await httpText(metrics)).includes('vm_rows_inserted_total'));
  return { child, graphitePort, taken: () => sample(metrics, 'vm_rows_inserted_total', 'type="graphite"') };
}

/** One round: the load sent once, timed until the program has taken in every line (or the round times out). */
function round(program: Program, load: GraphiteLoad): Promise<RoundResult> {
  const pid = program.child.pid!;
  return measuredRound(pid, async () => {
    const before = await program.taken();
    const started = performance.now();
    const sent = await load.send(program.graphitePort);
    const deadline = Date.now() + RUN_TIMEOUT_MS;
    let taken = 0;
    while ((taken = (await program.taken()) - before) < sent && Date.now() < deadline) await sleep(POLL_MS);
    return { lines: taken, sent, seconds: (performance.now() - started) / 1000 };
  }).then((r) => ({ ...r, extra: { 'resident MiB': residentBytes(pid) / MiB } }));
}

export default async function run(): Promise<BenchRow[]> {
  if (spawnSync('victoria-metrics', ['-version']).error)
    return [{ name: 'single node: victoria-metrics', value: 0, unit: 'n/a', note: 'victoria-metrics not installed' }];
  const dir = mkdtempSync(join(tmpdir(), 'carillon-single-node-bench-'));
  const load = await GraphiteLoad.start({
    processes: SENDER_PROCESSES,
    connectionsPerProcess: CONNECTIONS_PER_SENDER,
    lines: LINES,
    series: SERIES,
  });
  const programs: Program[] = [];
  try {
    const contenders: Contender[] = [];
    const starts: [string, () => Promise<Program>][] = [];
    if (STORES.includes('memory')) starts.push(['carillon memory store', () => startCarillon(dir, 'memory')]);
    if (STORES.includes('whisper')) starts.push(['carillon whisper + log', () => startCarillon(dir, 'whisper')]);
    starts.push(['VictoriaMetrics 1.79', () => startVictoriaMetrics(dir)]);
    for (const [name, start] of starts) {
      const program = await start();
      programs.push(program);
      contenders.push({ name, round: () => round(program, load) });
    }
    // One unmeasured round each: the JIT warms, and every series exists before the measured rounds.
    for (const c of contenders) await c.round();
    const summaries = await alternateRounds(contenders, ROUNDS);
    return [
      ...comparisonRows('single node', summaries),
      {
        name: 'single node: load',
        value: LINES,
        unit: 'lines a round',
        note: `${SERIES.toLocaleString('en-US')} series, ${SENDER_PROCESSES} sender processes × ${CONNECTIONS_PER_SENDER} TCP connections, ${ROUNDS} rounds`,
      },
    ];
  } finally {
    load.stop();
    for (const p of programs) await stopChild(p.child);
    rmSync(dir, { recursive: true, force: true });
  }
}
