/**
 * A full disk under the whisper store, on a small tmpfs: while full, writes fail and are counted, nothing broken
 * appears at a series path, the failed windows wait in the sink's retry queue and hold the flush watermark (so no
 * relay batch with points in them would be acked); once space returns every series is readable and complete.
 * Needs root (it mounts a tmpfs); fails with a message saying so otherwise.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeBatch, MetricsRegistry, nowSeconds, parseResolutions, windowStart, type StatPoint } from '@carillon/core';
import { FdFile, fileSizeOf, readHeader, WhisperStore } from '@carillon/writers';
import { WriterSink } from '@carillon/accumulator';

const resolutions = parseResolutions(['10s:1h', '1m:1d']);
const fine = resolutions[0]!;
const SERIES = 60;
const WINDOWS = 12;

const point = (time: number, v: number): StatPoint => ({ time, min: v, max: v, sum: v, first: v, last: v, count: 1 });
const valueOf = (s: number, w: number): number => s * 1000 + w;

let mountPoint: string;
beforeAll(async () => {
  mountPoint = await mkdtemp(join(tmpdir(), 'carillon-disk-full-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', mountPoint], { stdio: 'pipe' });
  } catch (error) {
    throw new Error(
      `the disk-full test mounts a 2 MiB tmpfs and needs root for it (mount failed: ${(error as Error).message})`,
    );
  }
});
afterAll(async () => {
  execFileSync('umount', [mountPoint]);
  await rm(mountPoint, { recursive: true, force: true });
});

/** Fills the filesystem: a file grown until the kernel says ENOSPC. */
async function fill(path: string): Promise<void> {
  const handle = await FdFile.open(path, 'w');
  const chunk = Buffer.alloc(64 << 10, 1);
  let position = 0;
  try {
    for (;;) {
      await handle.write(chunk, 0, chunk.length, position);
      position += chunk.length;
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
  } finally {
    await handle.close();
  }
}

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await walk(path)));
    else out.push(path);
  }
  return out;
}

describe('whisper on a full disk', () => {
  it('fails writes while full, counted and kept for a retry; after space returns every series is complete', async () => {
    const dataDir = join(mountPoint, 'data');
    const registry = new MetricsRegistry();
    const store = new WhisperStore({ dataDir, resolutions }, { metrics: registry });
    const sink = new WriterSink(
      [store],
      { maxInFlightPoints: 1_000_000, maxRetryPoints: 1_000_000, retryIntervalMs: 200 },
      registry,
    );
    const names = Array.from({ length: SERIES }, (_, s) => `disk.host${s}.used`);
    const base = windowStart(nowSeconds(), fine.step) - WINDOWS * fine.step;
    const flush = async (w: number) => {
      const time = base + w * fine.step;
      sink.write(
        makeBatch(
          fine,
          time,
          names.map((name, s) => [name, point(time, valueOf(s, w))]),
        ),
      );
      await sink.barrier();
    };

    // Half the series exist before the disk fills; then the rest cannot even be created.
    const half = names.slice(0, SERIES / 2);
    const time0 = base;
    sink.write(
      makeBatch(
        fine,
        time0,
        half.map((name, s) => [name, point(time0, valueOf(s, 0))]),
      ),
    );
    await sink.barrier();
    const filler = join(mountPoint, 'filler');
    await fill(filler);
    for (let w = 1; w < WINDOWS; w++) await flush(w);

    expect(registry.value('whisper_errors_total', 'create')).toBeGreaterThan(0);
    registry.render(); // gauges collect on render
    expect(registry.value('writer_retry_points', 'whisper')).toBeGreaterThan(0);
    // The oldest window with an unstored series holds the watermark: window 1, the first after the disk filled.
    expect(sink.unstoredSince(fine.step)).toBe(base + fine.step);
    // Nothing at a series path is broken, and no creation temp is left behind. The sink retries every 200 ms, so
    // a temp of a creation in progress may be seen once: only one still there a second later was left behind
    // (each attempt names its temp afresh). A series' amend sidecar (`.wsp.stats`, whisper/amend-stats.ts) may be
    // cut by the full disk: it is started afresh at its next open.
    const seen = new Set(await walk(dataDir));
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    for (const path of await walk(dataDir)) {
      if (!seen.has(path) || path.endsWith('.wsp.stats')) continue;
      expect(path).toMatch(/\.wsp$/);
      const handle = await FdFile.open(path, 'r');
      try {
        const header = await readHeader(handle, path);
        expect((await stat(path)).size).toBe(fileSizeOf(header));
      } finally {
        await handle.close();
      }
    }

    // Space returns: the retries store everything, and the watermark is free again.
    await rm(filler);
    await writeFile(join(mountPoint, 'probe'), 'x'); // the filesystem takes writes again
    const deadline = Date.now() + 20_000;
    while (sink.unstoredSince(fine.step) !== Infinity) {
      if (Date.now() > deadline) throw new Error('retries did not store the failed windows after space returned');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await sink.drain();
    for (const [s, name] of names.entries()) {
      const values = await store.fetch(name, fine, base, base + WINDOWS * fine.step);
      const expected = Array.from({ length: WINDOWS }, (_, w) => (w === 0 && s >= SERIES / 2 ? null : valueOf(s, w)));
      expect(values, name).toEqual(expected);
    }
    expect(registry.value('writer_retried_points_total', 'whisper')).toBeGreaterThan(0);
    expect(registry.value('writer_retry_dropped_points_total', 'whisper', 'queue_full')).toBe(0);
    await sink.close();
  });
});
