/**
 * The node's whisper store writes on a thread of its own with synchronous file calls (ThreadedWhisperStore). The
 * files must come out byte for byte as the store on the calling thread writes them, for on-time windows of every
 * resolution, amends with their sidecars and failures handed back; batches handed over together must be written
 * together (one file update for all), and the thread's counters must reach the node's registry.
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { batchPoint, makeBatch, MetricsRegistry, nowSeconds, windowStart, type FlushBatch } from '@carillon/core';
import { ThreadedWhisperStore, WhisperStore } from '@carillon/writers';
import { coarse, fine, mid, resolutions, stat4 } from './whisper-fixtures.js';
import { useTempDir } from '../../../test/support/temp-dir.js';

const threadDir = useTempDir('whisper-thread');
const callerDir = useTempDir('whisper-caller');

// The default rules give each method: average, sum, min, max, last (amends of the first and last need sidecars).
const names = ['app.latency', 'app.requests', 'app.lower', 'app.upper', 'gauges.level', 'deep.a.b.c.d'];

/** Fine windows of the last few minutes, their minute windows, the ten minutes, then late points of each. */
function batches(now: number): FlushBatch[] {
  const start = windowStart(now, 600) - 600;
  const out: FlushBatch[] = [];
  for (let t = start; t < start + 600; t += 10)
    out.push(
      makeBatch(
        fine,
        t,
        names.map((name, i) => [name, stat4(t, i + t / 10)]),
      ),
    );
  for (let t = start; t < start + 600; t += 60)
    out.push(
      makeBatch(
        mid,
        t,
        names.map((name, i) => [name, stat4(t, 2 * i + t / 60)]),
      ),
    );
  out.push(
    makeBatch(
      coarse,
      start,
      names.map((name, i) => [name, stat4(start, 3 * i)]),
    ),
  );
  for (let t = start + 30; t < start + 300; t += 70)
    out.push(
      makeBatch(
        fine,
        t,
        names.map((name, i) => [name, stat4(t, -i)]),
        { heldFrom: now },
      ),
    );
  return out;
}

/** Every file under `dir` (whisper files and sidecars), by relative path. */
async function filesOf(dir: string): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true }))
    if (entry.isFile()) {
      const path = join(entry.parentPath, entry.name);
      files.set(relative(dir, path), await readFile(path));
    }
  return files;
}

describe('ThreadedWhisperStore', () => {
  it('writes the files byte for byte as the store on the calling thread, one batch at a time or handed at once', async () => {
    const now = nowSeconds();
    const all = batches(now);
    for (const together of [false, true]) {
      const threadMetrics = new MetricsRegistry();
      const threaded = new ThreadedWhisperStore({ dataDir: threadDir(), resolutions }, { metrics: threadMetrics });
      const caller = new WhisperStore({ dataDir: callerDir(), resolutions }, { clock: () => now });
      if (together) await Promise.all(all.map((batch) => threaded.write(batch)));
      else for (const batch of all) expect(await threaded.write(batch)).toEqual({});
      for (const batch of all) await caller.write(batch);
      // The thread's counters reach the registry as each write settles.
      expect(threadMetrics.value('whisper_points_written_total')).toBe(all.length * names.length);
      if (together) expect(threadMetrics.value('whisper_coalesced_batches_total')).toBeGreaterThan(0);
      // Reads on the calling thread see what the thread wrote.
      const last = all.findLast((batch) => batch.resolution === fine && batch.amend === undefined)!;
      expect(await threaded.fetch(names[0]!, fine, last.time, last.time + 10)).toEqual(
        await caller.fetch(names[0]!, fine, last.time, last.time + 10),
      );
      await threaded.close();
      await caller.close();
      const written = await filesOf(threadDir());
      const expected = await filesOf(callerDir());
      expect([...written.keys()].sort()).toEqual([...expected.keys()].sort());
      expect(written.size).toBeGreaterThan(names.length);
      for (const [path, bytes] of expected) expect([path, written.get(path)?.equals(bytes)]).toEqual([path, true]);
    }
  });

  it('hands back what it could not store, as the store itself does', async () => {
    const metrics = new MetricsRegistry();
    const store = new ThreadedWhisperStore({ dataDir: threadDir(), resolutions }, { metrics });
    await writeFile(join(threadDir(), 'blocked'), 'not a directory');
    const time = windowStart(nowSeconds(), 10) - 10;
    const outcome = await store.write(
      makeBatch(fine, time, [
        ['ok.first', stat4(time, 1)],
        ['blocked.series', stat4(time, 2)],
      ]),
    );
    expect(outcome.retry?.names).toEqual(['blocked.series']);
    expect(outcome.retry && batchPoint(outcome.retry, 0)).toEqual(stat4(time, 2));
    expect(metrics.value('whisper_errors_total', 'open')).toBe(1);
    expect(store.notLive()).toBeUndefined();
    // Handed over in the turn that closes the store: still written before the thread ends.
    const last = store.write(makeBatch(fine, time, [['ok.last', stat4(time, 4)]]));
    await store.close();
    expect(await last).toEqual({});
    expect(metrics.value('whisper_points_written_total')).toBe(2);
    const reader = new WhisperStore({ dataDir: threadDir(), resolutions });
    expect((await reader.fetch('ok.last', fine, time, time + 10))[0]).not.toBeNull();
    await reader.close();
    // Closed: later batches come back for the sink's retry, not lost.
    const late = makeBatch(fine, time, [['ok.first', stat4(time, 3)]]);
    expect((await store.write(late)).retry).toBe(late);
  });
});
