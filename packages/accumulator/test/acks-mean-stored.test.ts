/**
 * An ack means stored: a series the whisper store cannot write (here its directory is blocked by a plain file)
 * waits in the writer sink's retry queue, the flush watermark stays before its window, and a relay batch with a
 * point in that window is not durable; once the store can write again the retry stores it, the watermark moves on
 * and the batch becomes durable. Real aggregator, sink, store, flush cycle and durability tracker.
 */
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MetricsRegistry, createLogger, parseResolutions } from '@carillon/core';
import { Aggregator, DEFAULT_STATSD_OPTIONS } from '@carillon/aggregator';
import { WhisperStore } from '@carillon/writers';
import { DurabilityTracker, FlushCycle, WriterSink } from '@carillon/accumulator';
import { useTempDir } from '../../../test/support/temp-dir.js';
import { waitFor } from '../../../test/support/wait.js';

const dataDir = useTempDir('acks-mean-stored');

describe('acks mean stored', () => {
  it('holds the watermark and the ack while a write fails, and releases both once the retry stores it', async () => {
    const registry = new MetricsRegistry();
    const resolutions = parseResolutions(['10s:1h', '1m:1d']);
    // A clock the test moves: windows of 10 s, flushed 1 s after they end.
    let nowMs = Math.floor(Date.now() / 60_000) * 60_000 - 120_000;
    const clock = { now: () => nowMs };
    const store = new WhisperStore(
      { dataDir: dataDir(), resolutions },
      { metrics: registry, clock: () => nowMs / 1000 },
    );
    const sink = new WriterSink(
      [store],
      { maxInFlightPoints: 1_000_000, maxRetryPoints: 1_000_000, retryIntervalMs: 50 },
      registry,
    );
    const aggregator = new Aggregator(
      {
        resolutions,
        graceSeconds: 1,
        maxFutureSeconds: 60,
        maxPendingPoints: 1_000_000,
        maxStatsdIntervalValues: 1000,
      },
      DEFAULT_STATSD_OPTIONS,
      { sink, metrics: registry, clock },
    );
    const durability = new DurabilityTracker({ maxRelays: 10 }, aggregator.handedThrough, registry);
    const logger = createLogger('acks-test', 'silent');
    const cycle = new FlushCycle({ aggregator, sink, durability, watermarkFile: '', memberId: 'a', registry, logger });
    const window = nowMs / 1000 + 10;

    // `blocked.series` cannot get its directory: a plain file stands where it must be.
    await writeFile(join(dataDir(), 'blocked'), 'not a directory');
    expect(aggregator.addGraphite({ name: 'blocked.series', timestamp: window + 3, value: 5 })).toBe(true);
    expect(aggregator.addGraphite({ name: 'ok.series', timestamp: window + 4, value: 7 })).toBe(true);
    // The relay batch that carried both points: durable once the watermark passes its window's end.
    durability.processed('relay-1', 1, window + 10);

    nowMs = (window + 11) * 1000;
    cycle.tick(nowMs / 1000);
    await waitFor('the failed series queued for a retry', () => sink.unstoredSince(10) === window);
    cycle.tick(nowMs / 1000);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(cycle.watermark).toBeLessThanOrEqual(window);
    expect(durability.durableSequence('relay-1')).toBe(0);
    expect(await store.fetch('ok.series', resolutions[0]!, window, window + 10)).toEqual([7]);
    expect(await store.fetch('blocked.series', resolutions[0]!, window, window + 10)).toEqual([null]);

    // The store can write again: the retry stores the series, and the next tick moves the watermark and the ack.
    await rm(join(dataDir(), 'blocked'));
    await waitFor('the retry stored the series', () => sink.unstoredSince(10) === Infinity);
    nowMs += 10_000;
    cycle.tick(nowMs / 1000);
    await waitFor('the watermark past the window', () => cycle.watermark >= window + 10);
    expect(durability.durableSequence('relay-1')).toBe(1);
    expect(await store.fetch('blocked.series', resolutions[0]!, window, window + 10)).toEqual([5]);
    expect(registry.value('writer_retried_points_total', 'whisper')).toBeGreaterThanOrEqual(1);
    cycle.stop();
    await sink.close();
  });
});
