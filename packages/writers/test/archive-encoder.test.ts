/**
 * The archive's encoder thread: the bytes it returns are exactly the chunk's JSON lines, zstd-compressed (views
 * into larger buffers included), and while it encodes a large chunk the main thread's event loop keeps running,
 * which it would not if the encoding ran there (the reason for the thread: docs/ARCHITECTURE.md). Under CPU
 * contention.
 */
import { zstdDecompressSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { makeBatch, parseResolutions, STAT_STRIDE, type FlushBatch } from '@carillon/core';
import { ArchiveEncoder, encodeArchive, forEachRow } from '@carillon/writers';
import { startBusyLoops } from '../../../test/support/contention.js';

const resolutions = parseResolutions(['10s:1h', '1m:1d']);

function batch(series: number, time: number, r = 0): FlushBatch {
  return makeBatch(
    resolutions[r]!,
    time,
    Array.from({ length: series }, (_, i) => [
      `servers.web${i % 50}.cpu.user${i};dc=eu`,
      { time, min: -i, max: i + 0.5, sum: 3 * i + 0.25, first: i, last: 1e6 + i, count: 3 },
    ]),
  );
}

/** The lines the archive must hold for `chunk`, built here from the rows. */
function expectedLines(chunk: FlushBatch[]): string {
  let text = '';
  forEachRow(chunk, (r) => {
    const { name, step, time, sum, mean, min, max, first, last, count, ttl } = r;
    text += `${JSON.stringify({ name, resolution: step, time, sum, mean, min, max, first, last, count, ttl })}\n`;
  });
  return text;
}

describe('archive encoder thread', () => {
  const encoder = new ArchiveEncoder('test');
  const busy = startBusyLoops(2, 60_000);
  afterAll(async () => {
    busy.stop();
    await encoder.close();
  });

  it('returns the chunk as exact zstd JSON lines, views into larger buffers included', async () => {
    const whole = batch(300, 1_700_000_000);
    // The second half of a batch as views into its columns, as the queue cuts chunks.
    const half: FlushBatch = {
      ...whole,
      names: whole.names.slice(150),
      stats: whole.stats.subarray(150 * STAT_STRIDE),
    };
    const chunk = [batch(20, 1_700_000_060, 1), half];
    const data = await encoder.encode(chunk, 3);
    expect(zstdDecompressSync(data).toString('utf8')).toBe(expectedLines(chunk));
    // The batch handed in is untouched (its columns were copied, not transferred).
    expect(whole.stats.length).toBe(300 * STAT_STRIDE);
  });

  it('keeps the main thread running while it encodes a large chunk', async () => {
    const chunk = [batch(50_000, 1_700_000_000)];
    const started = performance.now();
    encodeArchive(chunk, 3);
    const onMainThread = performance.now() - started;

    let last = performance.now();
    let longestGap = 0;
    const ticker = setInterval(() => {
      const now = performance.now();
      longestGap = Math.max(longestGap, now - last);
      last = now;
    }, 1);
    try {
      last = performance.now();
      const data = await encoder.encode(chunk, 3);
      expect(data.length).toBeGreaterThan(0);
      // A tick after the end, so that a stall up to it is seen too.
      await new Promise((resolve) => setTimeout(resolve, 10));
    } finally {
      clearInterval(ticker);
    }
    // What is left on the main thread is copying the columns and posting the names.
    expect(longestGap, `encoding on the main thread took ${onMainThread.toFixed(0)} ms`).toBeLessThan(onMainThread / 2);
  });

  it('starts a thread again after close', async () => {
    await encoder.close();
    const chunk = [batch(10, 1_700_000_000)];
    expect(zstdDecompressSync(await encoder.encode(chunk, 1)).toString('utf8')).toBe(expectedLines(chunk));
  });
});
