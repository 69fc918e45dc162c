/**
 * A series whose whisper file the creation limit defers stays with the writer sink: its window holds the flush
 * watermark (unstoredSince) until a retry pass creates the file and writes it, and nothing is dropped. Real sink,
 * real store, real files.
 */
import { describe, expect, it } from 'vitest';
import { makeBatch, MetricsRegistry, nowSeconds, parseResolutions, windowStart } from '@carillon/core';
import { WhisperStore } from '@carillon/writers';
import { WriterSink } from '@carillon/accumulator';
import { useTempDir } from '../../../test/support/temp-dir.js';
import { waitFor } from '../../../test/support/wait.js';

const dataDir = useTempDir('whisper-deferred-creation');

describe('whisper creation limit through the writer sink', () => {
  it('keeps deferred series in the retry queue, holding the watermark, until their files are created', async () => {
    const registry = new MetricsRegistry();
    const resolutions = parseResolutions(['10s:1h', '1m:1d']);
    const fine = resolutions[0]!;
    const store = new WhisperStore({ dataDir: dataDir(), resolutions, maxCreatesPerSecond: 3 }, { metrics: registry });
    const sink = new WriterSink(
      [store],
      { maxInFlightPoints: 1_000_000, maxRetryPoints: 1_000_000, retryIntervalMs: 200 },
      registry,
    );
    const time = windowStart(nowSeconds(), 10) - 30;
    const names = Array.from({ length: 9 }, (_, i) => `deferred.s${i}.count`);
    sink.write(
      makeBatch(
        fine,
        time,
        names.map((name, i) => [name, { time, min: i, max: i, sum: i, first: i, last: i, count: 1 }]),
      ),
    );
    await sink.barrier();
    // Three files now, six series waiting: the watermark may not pass their window.
    expect(registry.value('whisper_files_created_total')).toBe(3);
    expect(registry.value('whisper_creations_deferred_points_total')).toBe(6);
    expect(sink.unstoredSince(fine.step)).toBe(time);
    await waitFor('every point written', () => registry.value('whisper_points_written_total') === 9, 15_000);
    await sink.drain();
    expect(sink.unstoredSince(fine.step)).toBe(Infinity);
    expect(registry.value('writer_retry_dropped_points_total', 'whisper', 'queue_full')).toBe(0);
    for (const [i, name] of names.entries()) expect(await store.fetch(name, fine, time, time + 10)).toEqual([i]);
    await sink.close();
  });
});
