/** WhisperStore behaviour that needs no reference tool: open-file bounds, per-series failures, points it drops. */
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  batchPoint,
  makeBatch,
  MetricsRegistry,
  nowSeconds,
  parseResolutions,
  retentionRules,
  windowStart,
  type StatPoint,
} from '@carillon/core';
import { FdFile, readHeader, whisperRelativePath, WhisperStore } from '@carillon/writers';
import { coarse, expectedBy, fine, resolutions, stat4 } from './whisper-fixtures.js';
import { useTempDir } from '../../../test/support/temp-dir.js';

const dataDir = useTempDir('whisper-store');

describe('WhisperStore', () => {
  it('keeps at most maxOpenFiles open and counts evictions', async () => {
    const metrics = new MetricsRegistry();
    const store = new WhisperStore({ dataDir: dataDir(), resolutions, maxOpenFiles: 2, concurrency: 1 }, { metrics });
    const time = windowStart(nowSeconds(), 10) - 10;
    const names = ['a.one', 'a.two', 'a.three', 'a.four', 'a.five'];
    await store.write(
      makeBatch(
        fine,
        time,
        names.map((n, i) => [n, stat4(time, i)]),
      ),
    );
    expect(store.openFiles).toBe(2);
    expect(metrics.value('whisper_open_file_evictions_total')).toBe(3);
    // Evicted files reopen on demand.
    expect(await store.fetch('a.one', fine, time, time + 10)).toEqual([expectedBy.average(0)]);
    expect(metrics.value('whisper_open_file_evictions_total')).toBe(4);
    expect(metrics.render()).toContain('carillon_whisper_open_files 2');
    await store.close();
    expect(store.openFiles).toBe(0);
  });

  it('hands a failing series back for a retry, counted, and still writes the others of the batch', async () => {
    const metrics = new MetricsRegistry();
    const store = new WhisperStore({ dataDir: dataDir(), resolutions, concurrency: 3 }, { metrics });
    // A plain file where the series needs a directory: opening fails for blocked.* only.
    await writeFile(join(dataDir(), 'blocked'), 'not a directory');
    const time = windowStart(nowSeconds(), 10) - 10;
    const outcome = await store.write(
      makeBatch(fine, time, [
        ['ok.first', stat4(time, 1)],
        ['blocked.series', stat4(time, 2)],
        ['ok.second', stat4(time, 3)],
        ['bad.name;dc=a/b', stat4(time, 4)],
      ]),
    );
    // The I/O failure may pass: handed back, not dropped; the bad name is refused for good.
    expect(outcome.retry?.names).toEqual(['blocked.series']);
    expect(outcome.retry && batchPoint(outcome.retry, 0)).toEqual(stat4(time, 2));
    expect(metrics.value('whisper_errors_total', 'open')).toBe(1); // ENOTDIR
    expect(metrics.value('whisper_points_dropped_total', 'error')).toBe(0);
    expect(metrics.value('whisper_points_dropped_total', 'invalid_name')).toBe(1);
    expect(metrics.value('whisper_points_written_total')).toBe(2);
    expect(await store.fetch('ok.second', fine, time, time + 10)).toEqual([expectedBy.average(3)]);
    expect(await store.fetch('blocked.series', fine, time, time + 10)).toEqual([null]);
    await store.close();
  });

  for (const syncFiles of [false, true])
    it(`makes a directory removed behind its back again (${syncFiles ? 'sync' : 'pool'} calls)`, async () => {
      const metrics = new MetricsRegistry();
      const store = new WhisperStore({ dataDir: dataDir(), resolutions }, { metrics, syncFiles });
      const time = windowStart(nowSeconds(), 10) - 10;
      expect(await store.write(makeBatch(fine, time, [['gone.dir.one', stat4(time, 1)]]))).toEqual({});
      // The store has made gone/dir and remembers it; an operator removes it.
      await rm(join(dataDir(), 'gone'), { recursive: true });
      expect(await store.write(makeBatch(fine, time, [['gone.dir.two', stat4(time, 2)]]))).toEqual({});
      expect(await store.fetch('gone.dir.two', fine, time, time + 10)).toEqual([expectedBy.average(2)]);
      expect(metrics.value('whisper_files_created_total')).toBe(2);
      expect(metrics.value('whisper_errors_total', 'create')).toBe(0);
      // A third file beside the second: the directory is known again and the file lands in it.
      expect(await store.write(makeBatch(fine, time, [['gone.dir.three', stat4(time, 3)]]))).toEqual({});
      expect(await store.fetch('gone.dir.three', fine, time, time + 10)).toEqual([expectedBy.average(3)]);
      await store.close();
    });

  it('counts points it cannot place instead of overwriting the ring', async () => {
    const metrics = new MetricsRegistry();
    const now = 1_700_000_000;
    const store = new WhisperStore({ dataDir: dataDir(), resolutions }, { metrics, clock: () => now });
    const one = (time: number): [string, StatPoint][] => [['x.y', stat4(time, 1)]];
    await store.write(makeBatch(fine, now - 3600, one(now - 3600))); // one retention ago: gone
    await store.write(makeBatch(fine, now + 10, one(now + 10))); // not yet
    await store.write(makeBatch(parseResolutions(['5s:1h'])[0]!, now - 5, one(now - 5))); // not configured
    await store.write(
      makeBatch(fine, now - 10, [['x.y', { time: now - 10, min: 0, max: 0, sum: 0, first: 0, last: 0, count: 0 }]]),
    );
    expect(metrics.value('whisper_points_dropped_total', 'outside_retention')).toBe(2);
    expect(metrics.value('whisper_points_dropped_total', 'unknown_resolution')).toBe(1);
    expect(metrics.value('whisper_points_dropped_total', 'empty')).toBe(1);
    expect(metrics.value('whisper_points_written_total')).toBe(0);
    await store.write(makeBatch(fine, now - 3590, one(now - 3590)));
    expect(metrics.value('whisper_points_written_total')).toBe(1);
    await store.close();
    await store.write(makeBatch(fine, now - 10, one(now - 10)));
    expect(metrics.value('whisper_points_dropped_total', 'error')).toBe(1);
  });

  it("creates a new file with its retention rule's archives and does not count the steps it keeps none of", async () => {
    const metrics = new MetricsRegistry();
    const rules = retentionRules(
      [{ pattern: /^short\./, times: ['10s:30m', '10m:60d'], key: 'retention[0].times' }],
      resolutions,
    );
    const store = new WhisperStore({ dataDir: dataDir(), resolutions, retentionRules: rules }, { metrics });
    const now = nowSeconds();
    const names = ['short.a', 'other.b'];
    for (const [k, resolution] of resolutions.entries()) {
      const time = windowStart(now, resolution.step) - resolution.step;
      await store.write(
        makeBatch(
          resolution,
          time,
          names.map((n) => [n, stat4(time, k)]),
        ),
      );
    }
    const archives = async (name: string) => {
      const file = await FdFile.open(join(dataDir(), whisperRelativePath(name)!), 'r');
      try {
        return (await readHeader(file)).archives.map((a) => [a.secondsPerPoint, a.points]);
      } finally {
        await file.close();
      }
    };
    expect(await archives('short.a')).toEqual([
      [10, 180],
      [600, 8640],
    ]);
    expect(await archives('other.b')).toEqual([
      [10, 360],
      [60, 1440],
      [600, 4320],
    ]);
    // short.a's 1 m window has no archive by its rule: not kept, not a drop.
    expect(metrics.value('whisper_points_written_total')).toBe(5);
    expect(metrics.value('whisper_points_not_kept_total')).toBe(1);
    expect(metrics.render()).not.toMatch(/whisper_points_dropped_total\{[^}]*\} [1-9]/);
    const coarseTime = windowStart(now, coarse.step) - coarse.step;
    expect(await store.fetch('short.a', coarse, coarseTime, coarseTime + coarse.step)).toEqual([expectedBy.average(2)]);
    await store.close();
  });
});
