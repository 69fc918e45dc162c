/**
 * Crash- and space-safe whisper files: a file appears at its path only complete; a write that finds an empty or
 * unreadable file moves it aside and recreates it, one that finds a truncated file extends it keeping its points;
 * temp files a crash left are removed at start-up. Every repair is counted.
 */
import { mkdir, mkdtemp, readdir, rm, stat, truncate, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeBatch, MetricsRegistry, nowSeconds, parseResolutions, windowStart, type StatPoint } from '@carillon/core';
import { WhisperStore } from '@carillon/writers';

const resolutions = parseResolutions(['10s:1h', '1m:1d']);
const fine = resolutions[0]!;
const NAME = 'mend.web1.cpu';
const FILE = 'mend/web1/cpu.wsp';

const point = (time: number, v: number): StatPoint => ({ time, min: v, max: v, sum: v, first: v, last: v, count: 1 });

let dataDir: string;
beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'carillon-whisper-mend-'));
});
afterEach(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

async function writeAt(store: WhisperStore, time: number, v: number): Promise<void> {
  await store.write(makeBatch(fine, time, [[NAME, point(time, v)]]));
}

describe('whisper files mended', () => {
  const now = nowSeconds();
  const t0 = windowStart(now, 10) - 100;

  it('creates files whole: nothing but the .wsp is left in the directory', async () => {
    const store = new WhisperStore({ dataDir, resolutions });
    await writeAt(store, t0, 1);
    await store.close();
    // The .stats sidecar holds what amends of an average series need (amend-stats.ts).
    expect((await readdir(join(dataDir, 'mend/web1'))).sort()).toEqual(['cpu.wsp', 'cpu.wsp.stats']);
  });

  it('leaves the amend sidecar sparse: a week of lateness costs no disk until windows are written', async () => {
    // The default times and lateness (the finest retention, 7 days): the sidecar spans about 2.3 MB.
    const store = new WhisperStore({ dataDir, resolutions: parseResolutions(['10s:168h', '1m:720h', '10m:21600h']) });
    await writeAt(store, t0, 1);
    await store.write(makeBatch(fine, t0 + 10, [[NAME, point(t0 + 10, 3)]]));
    await store.close();
    const sidecar = await stat(join(dataDir, `${FILE}.stats`));
    expect(sidecar.size).toBeGreaterThan(2_000_000);
    expect(sidecar.blocks * 512).toBeLessThan(64 * 1024);
    // An amend still reads what the on-time write kept there: the late point merges exactly into the average.
    const reopened = new WhisperStore({
      dataDir,
      resolutions: parseResolutions(['10s:168h', '1m:720h', '10m:21600h']),
    });
    await reopened.write(makeBatch(fine, t0, [[NAME, point(t0, 4)]], { heldFrom: t0 + 600 }));
    expect(await reopened.fetch(NAME, fine, t0, t0 + 20)).toEqual([2.5, 3]);
    await reopened.close();
  });

  for (const [what, content] of [
    ['that is empty', Buffer.alloc(0)],
    ['that is not whisper', Buffer.from('this is not a whisper file at all, just text\n'.repeat(4))],
    ['cut inside its header', Buffer.from([0, 0, 0, 1, 0, 0, 0x0e, 0x10, 0x3f, 0, 0, 0, 0, 0, 0, 2, 0, 0])],
  ] as const)
    it(`moves a file ${what} aside, counted, and writes into a new one`, async () => {
      await mkdir(join(dataDir, 'mend/web1'), { recursive: true });
      await writeFile(join(dataDir, FILE), content);
      const metrics = new MetricsRegistry();
      const store = new WhisperStore({ dataDir, resolutions }, { metrics });
      await writeAt(store, t0, 7);
      expect(metrics.value('whisper_files_mended_total', 'quarantined')).toBe(1);
      expect(metrics.value('whisper_points_written_total')).toBe(1);
      expect((await store.fetch(NAME, fine, t0, t0 + 10))[0]).toBe(7);
      await store.close();
      const names = await readdir(join(dataDir, 'mend/web1'));
      expect(names.filter((n) => !n.endsWith('.stats')).sort()).toEqual([
        'cpu.wsp',
        expect.stringMatching(/^cpu\.wsp\.corrupt-\d+$/),
      ]);
      // The series is listed once; the quarantined file is not a series.
      const reopened = new WhisperStore({ dataDir, resolutions });
      expect(await reopened.listSeries()).toEqual([NAME]);
      await reopened.close();
    });

  it('extends a truncated file to full size, keeping the points it holds', async () => {
    const store = new WhisperStore({ dataDir, resolutions });
    await writeAt(store, t0, 1);
    await writeAt(store, t0 + 10, 2);
    await store.close();
    const path = join(dataDir, FILE);
    const fullSize = (await stat(path)).size;
    // Cut just past the first archive's first two slots (header 16 + 2×12, two points of 12 bytes).
    await truncate(path, 16 + 24 + 24);
    const metrics = new MetricsRegistry();
    const mended = new WhisperStore({ dataDir, resolutions }, { metrics });
    await writeAt(mended, t0 + 20, 3);
    expect(metrics.value('whisper_files_mended_total', 'extended')).toBe(1);
    expect(await mended.fetch(NAME, fine, t0, t0 + 30)).toEqual([1, 2, 3]);
    await mended.close();
    expect((await stat(path)).size).toBe(fullSize);
  });

  it('removes creation temp files a crash left, once stale, and does not list them', async () => {
    await mkdir(join(dataDir, 'a/b'), { recursive: true });
    const stale = join(dataDir, 'a/b/c.wsp.creating-123-abc');
    const fresh = join(dataDir, 'a/b/d.wsp.creating-456-def');
    await writeFile(stale, Buffer.alloc(40));
    await writeFile(fresh, Buffer.alloc(40));
    const old = new Date(Date.now() - 3600_000);
    await utimes(stale, old, old);
    const metrics = new MetricsRegistry();
    const store = new WhisperStore({ dataDir, resolutions }, { metrics });
    expect(await store.listSeries()).toEqual([]);
    expect(metrics.value('whisper_stale_temp_files_removed_total')).toBe(1);
    expect((await readdir(join(dataDir, 'a/b'))).sort()).toEqual(['d.wsp.creating-456-def']);
    await store.close();
  });
});
