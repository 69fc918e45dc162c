/**
 * The read-only reader render workers use reads what WhisperStore reads: the same values over the same windows,
 * tagged series in both carbon layouts, nothing for a missing file, and a broken file read as empty and counted.
 */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeBatch, nowSeconds, windowStart } from '@carillon/core';
import {
  hashNamedRelativePath,
  openWorkerReader,
  whisperRelativePath,
  WhisperFileReader,
  WhisperStore,
} from '@carillon/writers';
import { fine, resolutions, stat4 } from './whisper-fixtures.js';
import { useTempDir } from '../../../test/support/temp-dir.js';

const dataDir = useTempDir('whisper-reader');

describe('WhisperFileReader', () => {
  it('reads what the store reads, from the files alone', async () => {
    const dir = dataDir();
    const store = new WhisperStore({ dataDir: dir, resolutions });
    const first = windowStart(nowSeconds(), 10) - 100;
    const names = ['r.a', 'r.b.count', 'r.c;k=v.1', 'r.d;k=hashed'];
    // every other window, so the reads have gaps
    for (let w = 0; w < 10; w += 2)
      await store.write(
        makeBatch(
          fine,
          first + w * 10,
          names.map((n, i) => [n, stat4(first + w * 10, i + w)]),
        ),
      );
    await store.close();
    // a carbon tree's hash-named file (TAG_HASH_FILENAMES) instead of the readable one
    const hashed = join(dir, hashNamedRelativePath('r.d;k=hashed')!);
    await mkdir(dirname(hashed), { recursive: true });
    await rename(join(dir, whisperRelativePath('r.d;k=hashed')!), hashed);

    const reader = openWorkerReader({ dataDir: dir });
    const again = new WhisperStore({ dataDir: dir, resolutions });
    for (const name of [...names, 'r.missing'])
      for (const [from, until] of [
        [first - 15, first + 95],
        [first + 3, first + 41],
        [first + 20, first + 20],
        // half the ring or more (read whole), and more than one lap of it
        [first - 3000, first + 200],
        [first - 4000, first + 200],
      ] as const) {
        const read = await reader.fetch(name, fine, from, until);
        expect(read, `${name} [${from}, ${until})`).toEqual(await again.fetch(name, fine, from, until));
        // fetchFloat64 is fetch with NaN for null, from both
        const floats = Float64Array.from(read, (v) => v ?? NaN);
        expect(await reader.fetchFloat64!(name, fine, from, until)).toEqual(floats);
        expect(await again.fetchFloat64(name, fine, from, until)).toEqual(floats);
        if (name !== 'r.missing' && until - from > 50) expect(read.filter((v) => v !== null)).toHaveLength(5);
      }
    expect(reader.errors).toBe(0);
    await again.close();

    // not a whisper file: read as empty, counted
    const broken = join(dir, whisperRelativePath('r.broken')!);
    await writeFile(broken, 'not whisper');
    expect(await reader.fetch('r.broken', fine, first, first + 30)).toEqual([null, null, null]);
    expect(reader.errors).toBe(1);
    expect(reader).toBeInstanceOf(WhisperFileReader);
  });

  it('answers reads made all at once each with its own file, though they share one read buffer', async () => {
    const dir = dataDir();
    const store = new WhisperStore({ dataDir: dir, resolutions });
    const first = windowStart(nowSeconds(), 10) - 100;
    const names = Array.from({ length: 40 }, (_, i) => `many.s${i}`);
    for (let w = 0; w < 10; w++)
      await store.write(
        makeBatch(
          fine,
          first + w * 10,
          names.map((n, i) => [n, stat4(first + w * 10, i * 100 + w)]),
        ),
      );
    await store.close();
    const reader = openWorkerReader({ dataDir: dir });
    // short reads (a slot run) and whole-ring reads, interleaved, with a missing file and a broken one among them
    await writeFile(join(dir, whisperRelativePath('many.broken')!), 'not whisper');
    const ranges = [
      [first, first + 100],
      [first - 3000, first + 200],
    ] as const;
    const asked = [...names, 'many.missing', 'many.broken'].flatMap((name) =>
      ranges.map(([from, until]) => ({ name, from, until })),
    );
    const together = await Promise.all(asked.map((a) => reader.fetchFloat64!(a.name, fine, a.from, a.until)));
    for (const [i, a] of asked.entries())
      expect(together[i], `${a.name} [${a.from}, ${a.until})`).toEqual(
        await reader.fetchFloat64!(a.name, fine, a.from, a.until),
      );
    // each series' own values: its index in the hundreds
    for (const [i, name] of names.entries()) {
      const values = [...together[2 * i]!].filter((v) => !Number.isNaN(v));
      expect(values, name).toHaveLength(10);
      for (const v of values) expect(Math.floor(v / 100), name).toBe(i);
    }
  });
});
