/**
 * The whisper store's write-back queue (write-queue.ts): batches that wait together are written in one update per
 * file, and the files end byte for byte as when each batch is written on its own (checked again with whisper-dump,
 * every archive, every slot); the creation limit defers new files and creates them later with nothing lost; a full
 * queue refuses a batch, counted, and hands it back whole.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  makeBatch,
  MetricsRegistry,
  nowSeconds,
  parseResolutions,
  windowStart,
  type FlushBatch,
  type Resolution,
  type StatPoint,
} from '@carillon/core';
import { WhisperStore } from '@carillon/writers';
import { pythonFetch, pythonWhisper } from './whisper-tools.js';
import { useTempDir } from '../../../test/support/temp-dir.js';

const dataDir = useTempDir('whisper-coalesce');
const resolutions = parseResolutions(['10s:6h', '1m:1d', '10m:30d']);
const [fine, mid, coarse] = resolutions as [Resolution, Resolution, Resolution];

// One name per method of the default rules, a tagged one, and two carbon files (whisper's propagation).
const OWN = ['app.latency', 'app.requests', 'app.upper', 'app.lower', 'gauges.level', 'disk.used;dc=ams'];
const CARBON: { name: string; archives: [number, number][]; method: string; xff: number }[] = [
  {
    name: 'carbon.max',
    archives: [
      [15, 5760],
      [300, 2016],
      [3600, 720],
    ],
    method: 'max',
    xff: 0.3,
  },
  {
    name: 'carbon.avg',
    archives: [
      [60, 1440],
      [3600, 720],
    ],
    method: 'average',
    xff: 0.5,
  },
];
const NAMES = [...OWN, ...CARBON.map((c) => c.name)];

function statAt(time: number, k: number): StatPoint {
  return { time, min: k - 3, max: k + 9, sum: 4 * k + 2, first: k - 1, last: k + 0.5, count: 4, lastTime: time + 5 };
}

/** A deterministic shuffle (mulberry32), so a failure repeats. */
function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  let s = seed;
  const random = () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

async function filesUnder(dir: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (at: string): Promise<void> => {
    for (const entry of await readdir(at, { withFileTypes: true }))
      if (entry.isDirectory()) await walk(join(at, entry.name));
      else found.push(relative(dir, join(at, entry.name)));
  };
  await walk(dir);
  return found.sort();
}

/** whisper-dump's header and, per archive, every stored slot as `interval, value`, sorted by interval. */
function slotsOf(path: string): { meta: string; archives: string[][] } {
  const dump = execFileSync('whisper-dump', [path], { encoding: 'utf8' });
  const [meta, ...data] = dump.split(/^Archive \d+ data:$/m);
  const archives = data.map((section) =>
    section
      .split('\n')
      .map((line) => /^\d+: (\d+),\s*(\S+)$/.exec(line))
      .filter((m): m is RegExpExecArray => m !== null && m[1] !== '0')
      .map((m) => `${m[1]}, ${m[2]}`)
      .sort(),
  );
  return { meta: meta!, archives };
}

describe('WhisperStore write-back queue', () => {
  it('writes waiting batches in one update per file, leaving the files exactly as one update per batch', async () => {
    const now = nowSeconds();
    const start = windowStart(now - 2 * 3600, 3600);
    const end = start + 5400;
    // The first window of every resolution, then the rest in shuffled order, with late points (amends) of
    // written windows and a window written twice (a retry arriving after a newer value) among them.
    const first: FlushBatch[] = [];
    const rest: FlushBatch[] = [];
    let k = 0;
    for (let time = start; time < end; time += fine.step) {
      k++;
      for (const resolution of [fine, mid, coarse]) {
        // a window left out now and then, never the first (it fixes where each archive's ring starts)
        if (time % resolution.step !== 0 || (time !== start && Math.floor(time / 60) % 7 === 3)) continue;
        const batch = makeBatch(
          resolution,
          time,
          NAMES.map((name, i) => [name, statAt(time, k * 10 + i)]),
        );
        (time === start ? first : rest).push(batch);
        if (resolution === fine && k % 9 === 0)
          rest.push(
            makeBatch(
              fine,
              time,
              [
                ['app.latency', statAt(time, -k)],
                ['app.requests', statAt(time, k)],
                ['gauges.level', statAt(time, k + 1)],
              ],
              {
                heldFrom: time,
              },
            ),
          );
        if (resolution === fine && k % 13 === 0)
          rest.push(
            makeBatch(
              fine,
              time,
              NAMES.map((name, i) => [name, statAt(time, 1000 + k + i)]),
            ),
          );
      }
    }
    const order = shuffled(rest, 15);

    const run = async (dir: string, coalesce: boolean) => {
      for (const c of CARBON) {
        const path = join(dir, ...c.name.split('.')) + '.wsp';
        await mkdir(dirname(path), { recursive: true });
        pythonWhisper({ op: 'create', path, archives: c.archives, xFilesFactor: c.xff, aggregationMethod: c.method });
      }
      const metrics = new MetricsRegistry();
      const store = new WhisperStore({ dataDir: dir, resolutions, coalesce }, { metrics, clock: () => now });
      for (const batch of first) expect(await store.write(batch)).toEqual({});
      // Handed over together, as the sink does after the store fell behind: they wait for the same round.
      const outcomes = await Promise.all(order.map((batch) => store.write(batch)));
      await store.close();
      expect(outcomes.every((outcome) => outcome.retry === undefined)).toBe(true);
      return metrics;
    };
    const single = join(dataDir(), 'single');
    const merged = join(dataDir(), 'merged');
    const one = await run(single, false);
    const all = await run(merged, true);

    expect(one.value('whisper_coalesced_batches_total')).toBe(0);
    expect(all.value('whisper_coalesced_batches_total')).toBe(order.length);
    for (const counter of ['whisper_points_written_total', 'whisper_points_not_kept_total'])
      expect(all.value(counter)).toBe(one.value(counter));
    expect(all.value('whisper_points_written_total')).toBeGreaterThan(1000);
    expect(all.value('whisper_errors_total', 'write')).toBe(0);
    const files = await filesUnder(single);
    // Our files and the carbon files, and the amend sidecars of the average and last ones.
    expect(files.filter((f) => f.endsWith('.wsp'))).toHaveLength(NAMES.length);
    expect(files.filter((f) => f.endsWith('.wsp.stats'))).toHaveLength(4);
    expect(await filesUnder(merged)).toEqual(files);
    for (const file of files) {
      const [a, b] = await Promise.all([readFile(join(single, file)), readFile(join(merged, file))]);
      // Our own files byte for byte. A carbon file's lower archive starts its ring where the first propagation
      // that passes xFilesFactor lands, which depends on the order of updates (whisper's update_many sorts, as a
      // round does): there every archive must hold the same intervals with the same values.
      if (file.startsWith('carbon/')) expect(slotsOf(join(merged, file)), file).toEqual(slotsOf(join(single, file)));
      else expect(b.equals(a), file).toBe(true);
    }
    // And what was written is there: the first window after `start` written once, with no late point.
    let t2 = start + fine.step;
    const kOf = (time: number): number => (time - start) / fine.step + 1;
    while (Math.floor(t2 / 60) % 7 === 3 || kOf(t2) % 9 === 0 || kOf(t2) % 13 === 0) t2 += fine.step;
    expect(pythonFetch(join(merged, 'app', 'requests.wsp'), t2 - fine.step, t2, now, fine.step)?.[1]).toEqual([
      4 * (kOf(t2) * 10 + 1) + 2,
    ]);
  });

  it('defers files past max_creates_per_second and creates them later, every point kept', async () => {
    const metrics = new MetricsRegistry();
    const now = nowSeconds();
    const store = new WhisperStore(
      { dataDir: dataDir(), resolutions, maxCreatesPerSecond: 4 },
      { metrics, clock: () => now },
    );
    const names = Array.from({ length: 10 }, (_, i) => `new.series${i}`);
    const t0 = windowStart(now, 10) - 100;
    let pending: FlushBatch[] = [0, 1, 2].map((w) =>
      makeBatch(
        fine,
        t0 + 10 * w,
        names.map((name, i) => [name, statAt(t0 + 10 * w, i * 10 + w)]),
      ),
    );
    const first = await Promise.all(pending.map((batch) => store.write(batch)));
    // One second's worth of creations: 4 files, each taking its three windows; the others wait.
    expect(metrics.value('whisper_files_created_total')).toBe(4);
    expect(metrics.value('whisper_points_written_total')).toBe(12);
    expect(metrics.value('whisper_creations_deferred_points_total')).toBe(18);
    expect(first.map((o) => o.retry?.names.length)).toEqual([6, 6, 6]);
    // The sink's retry path: written again every second until none is handed back.
    pending = first.flatMap((o) => (o.retry ? [o.retry] : []));
    const deadline = Date.now() + 20_000;
    while (pending.length > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      pending = (await Promise.all(pending.map((batch) => store.write(batch)))).flatMap((o) =>
        o.retry ? [o.retry] : [],
      );
    }
    await store.close();
    expect(pending).toEqual([]);
    expect(metrics.value('whisper_files_created_total')).toBe(10);
    expect(metrics.value('whisper_points_written_total')).toBe(30);
    expect(metrics.value('whisper_errors_total', 'create')).toBe(0);
    for (let i = 0; i < names.length; i++) {
      const values = pythonFetch(join(dataDir(), 'new', `series${i}.wsp`), t0 - 10, t0 + 20, now, 10)?.[1];
      expect(values).toEqual([0, 1, 2].map((w) => (4 * (i * 10 + w) + 2) / 4));
    }
  });

  it('refuses a batch past max_queued_points, counted, and hands it back whole', async () => {
    const metrics = new MetricsRegistry();
    const now = nowSeconds();
    const store = new WhisperStore({ dataDir: dataDir(), resolutions, maxQueuedPoints: 50 }, { metrics });
    const t0 = windowStart(now, 10) - 60;
    const batchAt = (w: number) =>
      makeBatch(
        fine,
        t0 + 10 * w,
        Array.from({ length: 30 }, (_, i): [string, StatPoint] => [`queue.s${i}.sum`, statAt(t0 + 10 * w, w + i)]),
      );
    // The first two wait for the first round together (60 points > 50): the second is refused.
    const [a, b] = await Promise.all([store.write(batchAt(0)), store.write(batchAt(1))]);
    expect(a).toEqual({});
    expect(b.retry?.names).toHaveLength(30);
    expect(b.retry?.time).toBe(t0 + 10);
    expect(metrics.value('whisper_queue_refused_points_total')).toBe(30);
    // Given again once the queue has room, it is stored: refused is not lost.
    expect(await store.write(b.retry!)).toEqual({});
    await store.close();
    expect(metrics.value('whisper_points_written_total')).toBe(60);
    const values = pythonFetch(join(dataDir(), 'queue', 's7', 'sum.wsp'), t0 - 10, t0 + 10, now, 10)?.[1];
    expect(values).toEqual([4 * 7 + 2, 4 * 8 + 2]);
  });
});
