// Render against graphite-web 1.1.8 over the same whisper files, in the same run: 1,000 series (perf.h0..h99 ×
// m0..m9) × 24 h at 10 s (8.64 M stored points), read by sumSeries, groupByNode, the plain glob with
// maxDataPoints (what Grafana sends), and a 100-target dashboard in one request. graphite-web runs as the
// differential test starts it (Debian's package, in-process through Django's test client: no HTTP server in
// front of it, which only flatters it); carillon is createGraphiteApi over a WhisperStore with its render
// workers reading the files themselves (as a node's do; a render of several targets or of one glob split over
// both), on a loopback HTTP port. Each query is timed ROUNDS times per server after one warm-up; figures are
// the median wall time, the spread (min–max) and CPU seconds per query (carillon: this process, all threads,
// minus the client's share measured alone is not subtracted; graphite-web: its process's utime+stime).
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, get, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseResolutions } from '@carillon/core';
import { createGraphiteApi, SeriesIndex, type GraphiteApi } from '@carillon/query';
import { WhisperStore } from '@carillon/writers';
import { GraphiteWeb, PYTHON } from '../test/graphite-web/graphite-web.ts';
import type { BenchRow } from './row.ts';

const ROUNDS = Number(process.env.RENDER_BENCH_ROUNDS ?? 3);
const HOSTS = 100;
const METRICS = 10;
/** 2026-01-01 00:00:05 UTC, as the differential test: requests carry it as `now`. */
const NOW = 1_767_225_605;
const RESOLUTIONS = parseResolutions(['10s:1d']);

/** Ten distinct files (m0..m9, values varying with time and with m), copied under every host. */
function writeFixture(dir: string): void {
  const script = `
import sys, whisper, math, os
d, now = sys.argv[1], int(sys.argv[2])
for m in range(${METRICS}):
    path = os.path.join(d, 'perf', 'h0', 'm%d.wsp' % m)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    whisper.create(path, [(10, 8640)], xFilesFactor=0.0, aggregationMethod='average')
    start = now - now % 10 - 86390
    pts = [(t, 50 + 40 * math.sin(t / 3600.0 + m) + (t // 10 % 7)) for t in range(start, now + 1, 10) if (t // 10 + m) % 97]
    whisper.update_many(path, pts, now=now)
`;
  execFileSync(PYTHON, ['-c', script, dir, String(NOW)], { stdio: ['ignore', 'ignore', 'inherit'] });
  for (let h = 1; h < HOSTS; h++) {
    mkdirSync(join(dir, 'perf', `h${h}`), { recursive: true });
    for (let m = 0; m < METRICS; m++)
      copyFileSync(join(dir, 'perf', 'h0', `m${m}.wsp`), join(dir, 'perf', `h${h}`, `m${m}.wsp`));
  }
}

/** utime + stime of a process in seconds (Linux /proc). */
function processCpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function selfCpuSeconds(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

interface Timing {
  median: number;
  min: number;
  max: number;
  cpu: number;
}

async function timeRounds(run: () => Promise<void>, cpu: () => number): Promise<Timing> {
  await run(); // warm-up: caches, JIT
  const walls: number[] = [];
  const cpuStart = cpu();
  for (let i = 0; i < ROUNDS; i++) {
    const started = performance.now();
    await run();
    walls.push((performance.now() - started) / 1000);
  }
  const cpuUsed = (cpu() - cpuStart) / ROUNDS;
  walls.sort((a, b) => a - b);
  return { median: walls[Math.floor(walls.length / 2)]!, min: walls[0]!, max: walls[walls.length - 1]!, cpu: cpuUsed };
}

/**
 * The answer's bytes, read and dropped: node:http, not fetch, whose web streams and concatenation of a 30 MB body
 * cost the client (this process, sharing the cores with carillon) more CPU than its request.
 */
function getBytes(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    get(url, (res) => {
      let bytes = 0;
      res.on('data', (chunk: Buffer) => (bytes += chunk.length));
      res.on('end', () => (res.statusCode === 200 ? resolve(bytes) : reject(new Error(`status ${res.statusCode}`))));
      res.on('error', reject);
    }).on('error', reject);
  });
}

function renderQuery(targets: string[], extra: Record<string, string>): string {
  const query = new URLSearchParams({ from: '-24h', until: 'now', now: String(NOW), format: 'json', ...extra });
  for (const t of targets) query.append('target', t);
  return `/render?${query.toString()}`;
}

export default async function run(): Promise<BenchRow[]> {
  const dir = mkdtempSync(join(tmpdir(), 'carillon-render-bench-'));
  const whisperDir = join(dir, 'whisper');
  let server: Server | undefined;
  let graphiteWeb: GraphiteWeb | undefined;
  const store = new WhisperStore({ dataDir: whisperDir, resolutions: RESOLUTIONS }, { clock: () => NOW });
  let api: GraphiteApi | undefined;
  try {
    writeFixture(whisperDir);
    graphiteWeb = await GraphiteWeb.start(whisperDir, join(dir, 'graphite-web'));
    const index = new SeriesIndex();
    for (const name of await store.listSeries()) index.add(name);
    const filled = createGraphiteApi({
      index,
      reader: store,
      // the render workers read the files themselves, as a node's do (node.ts passes the store's worker reader)
      workerReader: store.workerReader(),
      pending: { pending: () => [] },
      resolutions: RESOLUTIONS,
      now: () => NOW,
      render: { workers: 2, timeBudgetMs: 120_000, memoryBudgetBytes: 1 << 30, maxQueued: 64 },
    });
    api = filled;
    server = createServer((req, res) => void filled(req, res));
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const gw = graphiteWeb;
    const gwPid = gw.pid;

    const dashboard = Array.from({ length: 100 }, (_, i) => `aliasByNode(perf.h${i}.m${i % METRICS}, 1)`);
    const cases: { name: string; path: string }[] = [
      { name: 'sumSeries(perf.*.*) 24h', path: renderQuery(['sumSeries(perf.*.*)'], {}) },
      {
        name: "groupByNode(perf.*.*, 2, 'sum') 24h maxDataPoints=1000",
        path: renderQuery(["groupByNode(perf.*.*, 2, 'sum')"], { maxDataPoints: '1000' }),
      },
      { name: 'perf.*.* 24h maxDataPoints=1000', path: renderQuery(['perf.*.*'], { maxDataPoints: '1000' }) },
      { name: '100-target dashboard 24h maxDataPoints=1000', path: renderQuery(dashboard, { maxDataPoints: '1000' }) },
    ];
    const rows: BenchRow[] = [];
    // both answer the same before either is timed; in a function of its own, so the parsed answers (a million
    // arrays for the plain glob) are garbage before the timing, not live heap every collection has to mark
    const sameShape = async (c: { name: string; path: string }): Promise<number> => {
      const ours = await fetch(base + c.path);
      const theirs = await gw.get(c.path);
      if (ours.status !== 200 || theirs.status !== 200)
        throw new Error(
          `${c.name}: carillon ${ours.status} ${(await ours.text()).slice(0, 300)}, graphite-web ${theirs.status} ${theirs.body.toString().slice(0, 300)}`,
        );
      const oursBody = (await ours.json()) as { target: string; datapoints: [number | null, number][] }[];
      const theirsBody = JSON.parse(theirs.body.toString('utf8')) as typeof oursBody;
      if (oursBody.length !== theirsBody.length || oursBody[0]?.datapoints.length !== theirsBody[0]?.datapoints.length)
        throw new Error(`${c.name}: carillon and graphite-web answer different shapes`);
      return oursBody.length;
    };
    for (const c of cases) {
      const answered = await sameShape(c);

      const carillon = await timeRounds(async () => {
        await getBytes(base + c.path);
      }, selfCpuSeconds);
      const reference = await timeRounds(
        async () => {
          await gw.get(c.path);
        },
        () => processCpuSeconds(gwPid),
      );
      const spread = (t: Timing): string => `${t.min.toFixed(3)}–${t.max.toFixed(3)} s, ${t.cpu.toFixed(2)} CPU-s`;
      rows.push(
        { name: `${c.name}: carillon`, value: carillon.median * 1000, unit: 'ms', note: spread(carillon) },
        { name: `${c.name}: graphite-web 1.1.8`, value: reference.median * 1000, unit: 'ms', note: spread(reference) },
        {
          name: `${c.name}: graphite-web / carillon`,
          value: reference.median / carillon.median,
          unit: '×',
          note: `CPU ${(reference.cpu / carillon.cpu).toFixed(1)}×, ${ROUNDS} rounds, ${answered} series answered`,
        },
      );
    }
    return rows;
  } finally {
    await api?.close();
    if (server) await new Promise<void>((resolve) => server!.close(() => resolve()));
    await graphiteWeb?.stop();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
