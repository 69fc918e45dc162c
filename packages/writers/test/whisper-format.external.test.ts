import { open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  createWhisperFile,
  fetchArchive,
  fetchWhisper,
  layoutHeader,
  readHeader,
  writeArchivePoints,
} from '@carillon/writers';
import { pythonFetch, pythonWhisper, whisperInfo } from './whisper-tools.js';
import { useTempDir } from '../../../test/support/temp-dir.js';

const dir = useTempDir('whisper-format', 'all');

const NOW = 1_700_000_000; // a multiple of 10 and 60 plus 20 s: 1_700_000_000 % 60 === 20

describe('whisper format', () => {
  it('creates sparse files whose header whisper-info reads back', async () => {
    const path = join(dir(), 'created.wsp');
    const header = layoutHeader(
      [
        { secondsPerPoint: 10, points: 8640 },
        { secondsPerPoint: 60, points: 43200 },
        { secondsPerPoint: 600, points: 129600 },
      ],
      'max',
      0.1,
    );
    const { handle } = await createWhisperFile(path, header);
    await handle.close();
    const info = whisperInfo(path);
    expect(info.aggregationMethod).toBe('max');
    expect(info.xFilesFactor).toBe(Math.fround(0.1));
    expect(info.maxRetention).toBe(600 * 129600);
    expect(info.archives.map(({ offset, secondsPerPoint, points }) => ({ offset, secondsPerPoint, points }))).toEqual([
      { offset: 52, secondsPerPoint: 10, points: 8640 },
      { offset: 52 + 8640 * 12, secondsPerPoint: 60, points: 43200 },
      { offset: 52 + (8640 + 43200) * 12, secondsPerPoint: 600, points: 129600 },
    ]);
    const size = 52 + (8640 + 43200 + 129600) * 12;
    const stats = await stat(path);
    expect(stats.size).toBe(size);
    expect(info.fileSize).toBe(size);
    // Sparse: the 2 MB of empty archives take (almost) no blocks.
    expect(stats.blocks * 512).toBeLessThan(64 * 1024);
    await expect(createWhisperFile(path, header)).rejects.toMatchObject({ code: 'EEXIST' });
  });

  it('reads files made by python whisper (create + update_many with propagation) exactly as whisper.fetch', async () => {
    const path = join(dir(), 'python.wsp');
    pythonWhisper({
      op: 'create',
      path,
      archives: [
        [10, 30],
        [60, 20],
      ],
      xFilesFactor: 0.3,
      aggregationMethod: 'sum',
    });
    const points = Array.from({ length: 50 }, (_, i) => [NOW - 900 + i * 17, i * 1.25 - 7]);
    pythonWhisper({ op: 'update_many', path, points, now: NOW });

    const handle = await open(path, 'r');
    try {
      const header = await readHeader(handle, path);
      expect(header.aggregationMethod).toBe('sum');
      expect(header.xFilesFactor).toBe(Math.fround(0.3));
      expect(header.archives.map((a) => [a.secondsPerPoint, a.points])).toEqual([
        [10, 30],
        [60, 20],
      ]);
      const ranges: [number, number, number | undefined][] = [
        [NOW - 200, NOW, undefined], // fine archive
        [NOW - 300, NOW - 100, undefined], // exactly the fine retention
        [NOW - 1000, NOW - 50, undefined], // coarse archive
        [NOW - 5000, NOW + 500, undefined], // clipped to retention and to now
        [NOW - 95, NOW - 95, undefined], // zero-length range
        [NOW - 1200, NOW, 60],
        [NOW - 290, NOW - 7, 10],
        [NOW - 1200, NOW, 10], // longer than the fine ring: wraps, as whisper does
      ];
      let nonNull = 0;
      for (const [from, until, archive] of ranges) {
        const expected = pythonFetch(path, from, until, NOW, archive);
        const ours = await fetchWhisper(handle, header, from, until, NOW, archive);
        expect(ours, `${from}..${until} @${archive}`).not.toBeNull();
        expect([[ours!.fromInterval, ours!.untilInterval, ours!.step], ours!.values]).toEqual(expected);
        nonNull += ours!.values.filter((v) => v !== null).length;
      }
      expect(nonNull).toBeGreaterThan(40);
      expect(await fetchWhisper(handle, header, NOW + 10, NOW + 20, NOW)).toBeNull();
      expect(await fetchWhisper(handle, header, NOW - 9000, NOW - 8000, NOW)).toBeNull();
      expect(pythonFetch(path, NOW - 9000, NOW - 8000, NOW)).toBeNull();
    } finally {
      await handle.close();
    }
  });

  it('writes runs of points that wrap the ring, and whisper reads the latest lap', async () => {
    const path = join(dir(), 'ring.wsp');
    const header = layoutHeader([{ secondsPerPoint: 10, points: 6 }], 'average', 0.5);
    const { handle } = await createWhisperFile(path, header);
    const archive = header.archives[0]!;
    const t0 = NOW - 200; // 1_699_999_800, a multiple of 10
    try {
      // Unaligned times are aligned down; of two points in one interval the last wins.
      let base = await writeArchivePoints(handle, archive, [
        { time: t0 + 3, value: 1 },
        { time: t0 + 10, value: 2 },
        { time: t0 + 19, value: 2.5 },
        { time: t0 + 40, value: 4 },
      ]);
      expect(base).toBe(t0);
      // Continues past the end of the ring and wraps to its start in one call.
      base = await writeArchivePoints(
        handle,
        archive,
        [50, 60, 70, 80].map((dt, i) => ({ time: t0 + dt, value: 5 + i })),
        base,
      );
      expect(base).toBe(t0);
      const now = t0 + 85;
      const expected = pythonFetch(path, now - 60, now, now);
      expect(expected).toEqual([
        [t0 + 30, t0 + 90, 10],
        [null, 4, 5, 6, 7, 8],
      ]);
      const ours = await fetchArchive(handle, archive, now - 60, now);
      expect([[ours.fromInterval, ours.untilInterval, ours.step], ours.values]).toEqual(expected);
      // The overwritten first lap reads as empty, not as stale values.
      const old = await fetchArchive(handle, archive, t0 - 10, t0 + 20);
      expect(old.values).toEqual([null, null, null]);
    } finally {
      await handle.close();
    }
  });

  it('an archive never written reads as nulls, as whisper', async () => {
    const path = join(dir(), 'empty.wsp');
    const header = layoutHeader([{ secondsPerPoint: 60, points: 10 }], 'last', 0);
    const { handle } = await createWhisperFile(path, header);
    try {
      const ours = await fetchWhisper(handle, header, NOW - 300, NOW, NOW);
      expect([[ours!.fromInterval, ours!.untilInterval, ours!.step], ours!.values]).toEqual(
        pythonFetch(path, NOW - 300, NOW, NOW),
      );
    } finally {
      await handle.close();
    }
  });
});
