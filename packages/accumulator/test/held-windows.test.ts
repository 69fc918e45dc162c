/**
 * A window handed to the store is readable until the store has it: right after the sink takes a batch (the whisper
 * write still under way) the sink's pending answers it, and once written the read gives the one stored value (a
 * window both stored and still held is not counted twice). Real whisper store and writer sink.
 */
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_AGGREGATION_RULES,
  MetricsRegistry,
  addSample,
  makeBatch,
  parseResolutions,
  statPointOf,
} from '@carillon/core';
import { WhisperStore } from '@carillon/writers';
import { fetchSeriesValues, fetchWindow } from '@carillon/query';
import { WriterSink } from '@carillon/accumulator';
import { useTempDir } from '../../../test/support/temp-dir.js';

const dataDir = useTempDir('held-windows');

describe('windows handed to the store', () => {
  it('are read from the sink until written, then once from the store', async () => {
    const registry = new MetricsRegistry();
    const resolutions = parseResolutions(['10s:1h', '1m:1d']);
    const now = Math.floor(Date.now() / 1000);
    const store = new WhisperStore({ dataDir: dataDir(), resolutions }, { metrics: registry });
    const sink = new WriterSink(
      [store],
      { maxInFlightPoints: 1_000_000, maxRetryPoints: 1_000_000, retryIntervalMs: 1000 },
      registry,
    );
    const time = Math.floor((now - 60) / 10) * 10;
    const point = statPointOf(time, 3);
    addSample(point, 4);
    const names = ['held.a.count', 'held.b.count'];
    sink.write(
      makeBatch(
        resolutions[0]!,
        time,
        names.map((n) => [n, { ...point }]),
      ),
    );
    const window = fetchWindow(resolutions, time - 10, time + 10, now)!;
    const sources = { reader: store, pending: sink, aggregationRules: DEFAULT_AGGREGATION_RULES };

    // The write has not finished: the store has nothing yet, the sink still holds the window.
    expect(sink.pending('held.a.count', resolutions[0]!, time, time + 10)).toEqual([{ ...point }]);
    expect(sink.pending('held.c.count', resolutions[0]!, time, time + 10)).toEqual([]);
    expect(sink.pending('held.a.count', resolutions[1]!, time, time + 10)).toEqual([]);
    const during = await fetchSeriesValues('held.a.count', window, sources);

    await sink.drain();
    const stored = await store.fetch('held.a.count', resolutions[0]!, window.start, window.end);
    const after = await fetchSeriesValues('held.a.count', window, sources);
    const slot = (time - window.start) / 10;
    // The default rule for a `.count` name is sum: 7, once, whether read from the sink or from the store.
    expect(during[slot]).toBe(7);
    expect(stored[slot]).toBe(7);
    expect(after[slot]).toBe(7);
    expect(after.filter((v) => v !== null)).toEqual([7]);
    await sink.close();
  });
});
