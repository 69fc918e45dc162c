import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeBatch, parseResolutions } from '@carillon/core';
import { StatPointFileWriter, parseStatPointLines, readWatermark, writeWatermark } from '@carillon/accumulator';
import { useTempDir } from '../../../test/support/temp-dir.js';

const dir = useTempDir('acc');

describe('watermark file', () => {
  it('is absent before the first write, then holds the last value written, with no temporary left', async () => {
    const path = join(dir(), 'state', 'flush-watermark.json');
    expect(await readWatermark(path)).toBeUndefined();
    await writeWatermark(path, 1200, 'acc-0');
    await writeWatermark(path, 1210, 'acc-0');
    expect(await readWatermark(path)).toBe(1210);
    expect(await readdir(join(dir(), 'state'))).toEqual(['flush-watermark.json']);
  });

  it('refuses a damaged file with a message naming it', async () => {
    const path = join(dir(), 'w.json');
    await writeFile(path, '{"watermark": 12.5}');
    await expect(readWatermark(path)).rejects.toThrow(/w\.json holds no whole watermark/);
    await writeFile(path, 'garbage');
    await expect(readWatermark(path)).rejects.toThrow(/w\.json is not JSON/);
  });
});

describe('StatPoint file writer', () => {
  it('appends every StatPoint of every batch as one JSON line, batches in call order', async () => {
    const path = join(dir(), 'out', 'points.jsonl');
    const writer = new StatPointFileWriter(path);
    const [fine, coarse] = parseResolutions(['1s:1h', '5s:1d']);
    const p = { time: 0, min: 1, max: 3, sum: 4, first: 3, last: 1, count: 2 };
    const writes = [
      writer.write(
        makeBatch(fine!, 100, [
          ['a', p],
          ['b;k=v', { ...p, count: 1 }],
        ]),
      ),
      writer.write(makeBatch(coarse!, 100, [['a', p]])),
      writer.write(makeBatch(fine!, 101, [])),
    ];
    await Promise.all(writes);
    await writer.close();
    const records = parseStatPointLines(await readFile(path, 'utf8'));
    expect(records).toEqual([
      { name: 'a', step: 1, time: 100, min: 1, max: 3, sum: 4, first: 3, last: 1, count: 2 },
      { name: 'b;k=v', step: 1, time: 100, min: 1, max: 3, sum: 4, first: 3, last: 1, count: 1 },
      { name: 'a', step: 5, time: 100, min: 1, max: 3, sum: 4, first: 3, last: 1, count: 2 },
    ]);
  });

  it('fails the batch (for the sink to count) when the file cannot be written, and keeps going', async () => {
    const writer = new StatPointFileWriter(join(dir(), 'missing-parent-is-a-file', 'x.jsonl'));
    await writeFile(join(dir(), 'blocker'), '');
    const broken = new StatPointFileWriter(join(dir(), 'blocker', 'x.jsonl'));
    const [fine] = parseResolutions(['1s:1h']);
    const batch = makeBatch(fine!, 100, [['a', { time: 0, min: 1, max: 1, sum: 1, first: 1, last: 1, count: 1 }]]);
    await expect(broken.write(batch)).rejects.toThrow();
    await expect(broken.write(batch)).rejects.toThrow();
    await writer.write(batch);
    await writer.close();
    await broken.close();
  });
});
