// Whisper store write throughput: 10k series into a temp dir, first flush (creates every file) and steady flushes,
// with every file kept open and with an LRU smaller than the series count (open/close churn on every write). Then
// the sustained scenario of issue 15: SUSTAIN_SERIES series at 10 s with the default config (1024 open files),
// a backlog of windows handed over at once as the sink does once the store fell behind, with and without the
// write-back queue's coalescing; it keeps up when it writes more than SUSTAIN_SERIES / 10 points/s.
import { spawn, spawnSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { connect } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { performance } from 'node:perf_hooks';
import { join } from 'node:path';
import { makeBatch, MetricsRegistry, nowSeconds, parseResolutions, windowStart, type FlushBatch } from '@carillon/core';
import { encodeHeader, fileSizeOf, layoutHeader, ThreadedWhisperStore, WhisperStore } from '@carillon/writers';
import type { BenchRow } from '../../../bench/row.ts';
import {
  alternateRounds,
  comparisonRows,
  measuredRound,
  processCpuSeconds,
  type Contender,
} from '../../../bench/peer-rounds.ts';

const SERIES = 10_000;
const FLUSHES = 5;
const resolutions = parseResolutions(['10s:168h', '1m:720h', '10m:21600h']);
const finest = resolutions[0]!; // parsed from the literal just above
const names = Array.from({ length: SERIES }, (_, i) => `bench.host${i % 100}.metric${Math.floor(i / 100)}.value`);

function batchAt(time: number): FlushBatch {
  return makeBatch(
    finest,
    time,
    names.map((name, i) => [name, { time, min: i, max: i + 2, sum: 3 * i + 3, first: i, last: i + 2, count: 3 }]),
  );
}

async function scenario(label: string, maxOpenFiles: number, concurrency: number): Promise<BenchRow[]> {
  const dataDir = await mkdtemp(join(tmpdir(), 'carillon-whisper-bench-'));
  const metrics = new MetricsRegistry();
  const store = new WhisperStore({ dataDir, resolutions, maxOpenFiles, concurrency }, { metrics });
  const start = windowStart(nowSeconds(), 10) - 10 * (FLUSHES + 1);
  try {
    let t = performance.now();
    await store.write(batchAt(start));
    const createSeconds = (performance.now() - t) / 1000;
    t = performance.now();
    for (let f = 1; f <= FLUSHES; f++) await store.write(batchAt(start + 10 * f));
    const steadySeconds = (performance.now() - t) / 1000;
    const written = metrics.value('whisper_points_written_total');
    if (written !== SERIES * (FLUSHES + 1))
      throw new Error(`wrote ${written} points, expected ${SERIES * (FLUSHES + 1)}`);
    const note = `maxOpenFiles ${maxOpenFiles}, concurrency ${concurrency}, evictions ${metrics.value('whisper_open_file_evictions_total')}`;
    return [
      {
        name: `whisper ${label}: first flush, creating ${SERIES} files`,
        value: SERIES / createSeconds,
        unit: 'points/s',
        note,
      },
      { name: `whisper ${label}: steady flushes`, value: (SERIES * FLUSHES) / steadySeconds, unit: 'points/s', note },
    ];
  } finally {
    await store.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

/** Series of the sustained scenario (CARILLON_BENCH_SUSTAIN_SERIES; 100k is the goal, bounded by disk and time). */
const SUSTAIN_SERIES = Number(process.env.CARILLON_BENCH_SUSTAIN_SERIES ?? 100_000);
/** Finest windows in the backlog; every sixth also closes a 1 m window, as the aggregator flushes. */
const SUSTAIN_WINDOWS = 12;
/** `sum` files (stats_counts.*): no amend sidecar, so a series costs what a carbon file costs. */
const sustainNames = Array.from(
  { length: SUSTAIN_SERIES },
  (_, i) => `stats_counts.bench.h${i % 100}.m${Math.floor(i / 100)}`,
);

/**
 * The files as the store would create them, but without its per-file fsync (setup, not measured: creation is
 * paced by whisper.max_creates_per_second and measured by the first-flush rows above).
 */
function precreate(dataDir: string): void {
  const header = layoutHeader(
    resolutions.map((r) => ({ secondsPerPoint: r.step, points: r.ttl / r.step })),
    'sum',
    0,
  );
  const bytes = encodeHeader(header);
  const size = fileSizeOf(header);
  for (let h = 0; h < 100; h++) mkdirSync(join(dataDir, 'stats_counts', 'bench', `h${h}`), { recursive: true });
  for (const name of sustainNames) {
    const fd = openSync(join(dataDir, ...name.split('.')) + '.wsp', 'wx');
    writeSync(fd, bytes, 0, bytes.length, 0);
    ftruncateSync(fd, size);
    closeSync(fd);
  }
}

function sustainBatch(resolution: (typeof resolutions)[number], time: number): FlushBatch {
  return makeBatch(
    resolution,
    time,
    sustainNames.map((name, i) => [name, { time, min: i, max: i, sum: i, first: i, last: i, count: 1 }]),
  );
}

/** How the sustained scenarios write: the store on the calling thread one batch at a time or coalescing, or the node's. */
type SustainMode = 'one batch at a time' | 'coalescing' | 'coalescing on the write thread (the node)';

function sustainStore(
  dataDir: string,
  mode: SustainMode,
  metrics: MetricsRegistry,
): WhisperStore | ThreadedWhisperStore {
  const config = { dataDir, resolutions, coalesce: mode !== 'one batch at a time' };
  return mode === 'coalescing on the write thread (the node)'
    ? new ThreadedWhisperStore(config, { metrics })
    : new WhisperStore(config, { metrics });
}

/** The backlog a store that fell behind is handed at once: SUSTAIN_WINDOWS finest windows and the 1 m ones they close. */
function sustainBacklog(): FlushBatch[] {
  const mid = resolutions[1]!;
  const start = windowStart(nowSeconds(), 60) - 10 * (SUSTAIN_WINDOWS + 6);
  const batches: FlushBatch[] = [];
  for (let w = 0; w < SUSTAIN_WINDOWS; w++) {
    const time = start + 10 * w;
    batches.push(sustainBatch(finest, time));
    if ((time + 10) % 60 === 0) batches.push(sustainBatch(mid, time + 10 - 60));
  }
  return batches;
}

async function sustained(dataDir: string, mode: SustainMode): Promise<BenchRow> {
  const metrics = new MetricsRegistry();
  const store = sustainStore(dataDir, mode, metrics);
  const batches = sustainBacklog();
  const points = batches.reduce((total, batch) => total + batch.names.length, 0);
  const cpu = process.cpuUsage();
  const t = performance.now();
  try {
    const outcomes = await Promise.all(batches.map((batch) => store.write(batch)));
    const seconds = (performance.now() - t) / 1000;
    const used = process.cpuUsage(cpu);
    const written = metrics.value('whisper_points_written_total');
    if (written !== points || outcomes.some((o) => o.retry !== undefined))
      throw new Error(`wrote ${written} points of ${points}`);
    const rate = points / seconds;
    const target = SUSTAIN_SERIES / 10;
    return {
      name: `whisper sustained ${SUSTAIN_SERIES} series, ${mode}`,
      value: rate,
      unit: 'points/s',
      note:
        `${batches.length} batches (${SUSTAIN_WINDOWS} windows of 10 s) handed at once, ${seconds.toFixed(1)} s, ` +
        `${rate >= target ? 'keeps up with' : 'BEHIND'} ${target} points/s (${(rate / target).toFixed(2)}x), ` +
        `CPU ${((used.user + used.system) / 1e6).toFixed(1)} s, coalesced batches ` +
        `${metrics.value('whisper_coalesced_batches_total')}, evictions ${metrics.value('whisper_open_file_evictions_total')}`,
    };
  } finally {
    await store.close();
  }
}

/** Finest windows of the paced run: one handed over every 10 s of real time, as the aggregator flushes them. */
const PACED_WINDOWS = 6;

/**
 * Real time: a window of every series handed over every 10 s (and the 1 m window when one closes), not awaited, as
 * the sink does. It keeps up when the lag (hand-over to written) stops growing; a store that cannot falls further
 * behind with every window.
 */
async function paced(dataDir: string, mode: SustainMode): Promise<BenchRow> {
  const metrics = new MetricsRegistry();
  const store = sustainStore(dataDir, mode, metrics);
  const mid = resolutions[1]!;
  const first = windowStart(nowSeconds(), 10) - 10;
  const lags: number[] = [];
  const writes: Promise<void>[] = [];
  let points = 0;
  const t = performance.now();
  try {
    for (let w = 0; w < PACED_WINDOWS; w++) {
      const due = t + 10_000 * w;
      if (performance.now() < due) await new Promise((resolve) => setTimeout(resolve, due - performance.now()));
      const time = first + 10 * w;
      const batches = [sustainBatch(finest, time)];
      if ((time + 10) % 60 === 0) batches.push(sustainBatch(mid, time + 10 - 60));
      const handed = performance.now();
      for (const batch of batches) {
        points += batch.names.length;
        writes.push(
          store.write(batch).then((outcome) => {
            if (outcome.retry) throw new Error(`${outcome.retry.names.length} points handed back`);
            if (batch.resolution === finest) lags[w] = (performance.now() - handed) / 1000;
          }),
        );
      }
    }
    await Promise.all(writes);
    const seconds = (performance.now() - t) / 1000;
    if (metrics.value('whisper_points_written_total') !== points) throw new Error('points missing');
    const last = lags[lags.length - 1]!;
    const keepsUp = last <= 2 * 10 && last <= Math.max(...lags.slice(0, -1)) + 1;
    return {
      name: `whisper paced ${SUSTAIN_SERIES} series at 10 s, ${mode}`,
      value: points / seconds,
      unit: 'points/s',
      note:
        `${PACED_WINDOWS} windows in real time, lag per window ${lags.map((l) => l.toFixed(1)).join(' ')} s: ` +
        `${keepsUp ? 'keeps up' : 'BEHIND'}; coalesced batches ${metrics.value('whisper_coalesced_batches_total')}`,
    };
  } finally {
    await store.close();
  }
}

async function sustainedScenarios(): Promise<BenchRow[]> {
  const dataDir = await mkdtemp(join(tmpdir(), 'carillon-whisper-sustain-'));
  try {
    const t = performance.now();
    precreate(dataDir);
    const setup = (performance.now() - t) / 1000;
    const rows = [
      await sustained(dataDir, 'one batch at a time'),
      await sustained(dataDir, 'coalescing'),
      await sustained(dataDir, 'coalescing on the write thread (the node)'),
      await paced(dataDir, 'one batch at a time'),
      await paced(dataDir, 'coalescing on the write thread (the node)'),
    ];
    for (const row of rows) row.note += `; ${SUSTAIN_SERIES} files made in ${setup.toFixed(0)} s of setup`;
    return rows;
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}

// The peer: Debian's carbon-cache (graphite-carbon) on the same files (pre-made alike), fed the same 10 s points
// over its plaintext port, with its rate limits off (MAX_UPDATES_PER_SECOND, MAX_CREATES_PER_MINUTE = inf) so it
// writes as fast as it can (CARILLON_BENCH_CARBON_UPDATES=500 gives it its shipped update limit). It writes the 1 m and 10 m archives by whisper's propagation, as carbon does.
const CARBON = '/usr/bin/carbon-cache';
/** First of three loopback ports: plaintext, pickle, cache query (CARILLON_BENCH_CARBON_PORT). */
const CARBON_PORT = Number(process.env.CARILLON_BENCH_CARBON_PORT ?? 27203);
const CARBON_TIMEOUT_MS = 600_000;
/** carbon's MAX_UPDATES_PER_SECOND (CARILLON_BENCH_CARBON_UPDATES): inf by default, its shipped config says 500. */
const CARBON_UPDATES = process.env.CARILLON_BENCH_CARBON_UPDATES ?? 'inf';

function carbonConfig(root: string): string {
  const conf = join(root, 'conf');
  for (const dir of ['conf', 'storage/whisper', 'log', 'run']) mkdirSync(join(root, dir), { recursive: true });
  writeFileSync(
    join(conf, 'carbon.conf'),
    `[cache]
STORAGE_DIR = ${root}/storage/
LOCAL_DATA_DIR = ${root}/storage/whisper/
WHITELISTS_DIR = ${root}/storage/lists/
CONF_DIR = ${conf}/
LOG_DIR = ${root}/log/
PID_DIR = ${root}/run/
ENABLE_LOGROTATION = False
MAX_CACHE_SIZE = inf
MAX_UPDATES_PER_SECOND = ${CARBON_UPDATES}
MAX_CREATES_PER_MINUTE = inf
LINE_RECEIVER_INTERFACE = 127.0.0.1
LINE_RECEIVER_PORT = ${CARBON_PORT}
ENABLE_UDP_LISTENER = False
PICKLE_RECEIVER_INTERFACE = 127.0.0.1
PICKLE_RECEIVER_PORT = ${CARBON_PORT + 1}
CACHE_QUERY_INTERFACE = 127.0.0.1
CACHE_QUERY_PORT = ${CARBON_PORT + 2}
USE_FLOW_CONTROL = True
CACHE_WRITE_STRATEGY = sorted
WHISPER_AUTOFLUSH = False
WHISPER_SPARSE_CREATE = True
LOG_UPDATES = False
LOG_CREATES = False
LOG_CACHE_HITS = False
LOG_LISTENER_CONNECTIONS = False
CARBON_METRIC_INTERVAL = 1
`,
  );
  writeFileSync(
    join(conf, 'storage-schemas.conf'),
    `[carbon]\npattern = ^carbon\\.\nretentions = 1s:1h\n\n[default]\npattern = .*\nretentions = ${resolutions
      .map((r) => `${r.step}s:${r.ttl / 3600}h`)
      .join(',')}\n`,
  );
  writeFileSync(
    join(conf, 'storage-aggregation.conf'),
    '[default]\npattern = .*\nxFilesFactor = 0\naggregationMethod = sum\n',
  );
  return join(conf, 'carbon.conf');
}

/** carbon's own count of points written (carbon.agents.*.committedPoints, per second over the last hour). */
function carbonCommitted(whisperDir: string): number {
  const agents = join(whisperDir, 'carbon', 'agents');
  if (!existsSync(agents)) return 0;
  let total = 0;
  for (const agent of readdirSync(agents)) {
    const file = join(agents, agent, 'committedPoints.wsp');
    if (!existsSync(file)) continue;
    const script = `import whisper, sys\nr = whisper.fetch(sys.argv[1], ${nowSeconds() - 3500})\nprint(sum(v for v in r[1] if v) if r else 0)`;
    const out = spawnSync('/usr/bin/python3', ['-c', script, file], { encoding: 'utf8' });
    total += Number(out.stdout.trim() || 0);
  }
  return total;
}

async function sendLines(port: number, lines: () => Generator<string>): Promise<void> {
  const socket = connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  let chunk = '';
  for (const line of lines()) {
    chunk += line;
    if (chunk.length < 65536) continue;
    if (!socket.write(chunk)) await new Promise((resolve) => socket.once('drain', resolve));
    chunk = '';
  }
  await new Promise<void>((resolve) => socket.end(chunk, resolve));
}

/** A running carbon-cache on pre-made files; `round()` sends every series' 12 windows and waits until written. */
interface CarbonPeer {
  pid: number;
  round(): Promise<{ points: number; committed: number; sent: number; seconds: number }>;
  stop(): Promise<void>;
}

async function startCarbon(): Promise<CarbonPeer> {
  const root = await mkdtemp(join(tmpdir(), 'carillon-carbon-peer-'));
  const config = carbonConfig(root);
  const whisperDir = join(root, 'storage', 'whisper');
  precreate(whisperDir);
  const child = spawn(CARBON, [`--config=${config}`, '--nodaemon', 'start'], { stdio: 'ignore' });
  const stop = async (): Promise<void> => {
    child.kill('SIGKILL');
    if (child.exitCode === null) await new Promise((resolve) => child.once('exit', resolve));
    await rm(root, { recursive: true, force: true });
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    const up = await new Promise<boolean>((resolve) => {
      const probe = connect(CARBON_PORT, '127.0.0.1');
      probe
        .once('connect', () => {
          probe.end();
          resolve(true);
        })
        .once('error', () => resolve(false));
    });
    if (up) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error('carbon-cache did not start');
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  const round = async () => {
    const before = carbonCommitted(whisperDir);
    const points = SUSTAIN_SERIES * SUSTAIN_WINDOWS;
    const start = windowStart(nowSeconds(), 60) - 10 * (SUSTAIN_WINDOWS + 6);
    const t = performance.now();
    await sendLines(CARBON_PORT, function* () {
      for (let w = 0; w < SUSTAIN_WINDOWS; w++)
        for (let i = 0; i < SUSTAIN_SERIES; i++) yield `${sustainNames[i]} ${i} ${start + 10 * w}\n`;
    });
    const sent = (performance.now() - t) / 1000;
    let committed = 0;
    // Its own instrumentation (a few dozen points a second) counts too: so wait for a little more than ours.
    while (performance.now() - t < CARBON_TIMEOUT_MS) {
      await new Promise((resolve) => setTimeout(resolve, 2000));
      committed = carbonCommitted(whisperDir) - before;
      if (committed >= points) break;
    }
    return { points, committed, sent, seconds: (performance.now() - t) / 1000 };
  };
  return { pid: child.pid!, round, stop };
}

async function carbonPeer(): Promise<BenchRow[]> {
  const name = `carbon-cache sustained ${SUSTAIN_SERIES} series, MAX_UPDATES_PER_SECOND ${CARBON_UPDATES}`;
  if (!existsSync(CARBON))
    return [{ name, value: 0, unit: 'points/s', note: 'not run: apt-get install -y graphite-carbon' }];
  const carbon = await startCarbon();
  try {
    const cpu = processCpuSeconds(carbon.pid);
    const { points, committed, sent, seconds } = await carbon.round();
    const used = processCpuSeconds(carbon.pid) - cpu;
    const rate = Math.min(committed, points) / seconds;
    return [
      {
        name,
        value: rate,
        unit: 'points/s',
        note:
          `${points} points of ${SUSTAIN_WINDOWS} windows sent in ${sent.toFixed(1)} s, ` +
          `${committed >= points ? 'all written' : `only ${committed} written`} in ${seconds.toFixed(1)} s ` +
          `(committedPoints, 2 s polls), CPU ${used.toFixed(1)} s, ${rate >= SUSTAIN_SERIES / 10 ? 'keeps up' : 'BEHIND'}`,
      },
    ];
  } finally {
    await carbon.stop();
  }
}

/**
 * The node's store (coalescing on its write thread) against carbon-cache, alternating over CARILLON_BENCH_ROUNDS
 * rounds (default 3): each round hands every series' backlog of 12 windows (and the 1 m windows they close) at
 * once, CPU from each process's own accounting over the round. A "line" in the rows is a point.
 */
async function nodeAgainstCarbon(): Promise<BenchRow[]> {
  if (!existsSync(CARBON))
    return [{ name: 'whisper rounds', value: 0, unit: 'x', note: 'not run: apt-get install -y graphite-carbon' }];
  const rounds = Number(process.env.CARILLON_BENCH_ROUNDS ?? 3);
  const dataDir = await mkdtemp(join(tmpdir(), 'carillon-whisper-rounds-'));
  const carbon = await startCarbon();
  try {
    precreate(dataDir);
    const carillon: Contender = {
      name: 'carillon (write thread)',
      round: async () => {
        const batches = sustainBacklog();
        const points = batches.reduce((total, batch) => total + batch.names.length, 0);
        const store = new ThreadedWhisperStore({ dataDir, resolutions }, { metrics: new MetricsRegistry() });
        return measuredRound(process.pid, async () => {
          const t = performance.now();
          const outcomes = await Promise.all(batches.map((batch) => store.write(batch)));
          const seconds = (performance.now() - t) / 1000;
          await store.close();
          const handed = outcomes.filter((o) => o.retry !== undefined).length;
          return { lines: handed === 0 ? points : 0, sent: points, seconds };
        });
      },
    };
    const peer: Contender = {
      name: 'carbon-cache',
      round: () =>
        measuredRound(carbon.pid, async () => {
          const { points, committed, seconds } = await carbon.round();
          return { lines: Math.min(points, committed), sent: points, seconds };
        }),
    };
    return comparisonRows(
      `whisper ${SUSTAIN_SERIES} series, 12 windows at once`,
      await alternateRounds([carillon, peer], rounds),
    );
  } finally {
    await carbon.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

export default async function run(): Promise<BenchRow[]> {
  // CARILLON_BENCH_WHISPER=sustained runs the sustained scenario and its carbon-cache peer only, =carbon the peer
  // only, =rounds the node's store against carbon-cache over several rounds (the 10k rows take minutes on a slow
  // disk).
  const only = process.env.CARILLON_BENCH_WHISPER;
  if (only === 'rounds') return nodeAgainstCarbon();
  const rows: BenchRow[] = [];
  if (only === undefined)
    rows.push(
      ...(await scenario('all open', SERIES, 16)),
      ...(await scenario('LRU 1024', 1024, 16)),
      ...(await scenario('all open, concurrency 64', SERIES, 64)),
    );
  if (only === undefined || only === 'sustained') rows.push(...(await sustainedScenarios()));
  rows.push(...(await carbonPeer()));
  return rows;
}
