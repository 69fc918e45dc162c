import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  ConfigSource,
  makeBatch,
  MetricsRegistry,
  parseResolutions,
  type FlushBatch,
} from '@carillon/core';
import {
  AdaptiveBatchSize,
  QueuedWriter,
  readWriters,
  spillPath,
  WRITER_TYPES,
  WriterError,
  type Delivery,
  type QueuedWriterOptions,
} from '@carillon/writers';
import { useTempDir } from '../../../test/support/temp-dir.js';
import { waitFor } from '../../../test/support/wait.js';

const resolutions = parseResolutions(['10s:1h', '1m:1d']);
const dir = useTempDir('outputs-queue');

function batch(time: number, count: number, prefix = 's'): FlushBatch {
  return makeBatch(
    resolutions[0]!,
    time,
    Array.from({ length: count }, (_, i) => [
      `${prefix}.${i}`,
      { time, min: i, max: i, sum: i, first: i, last: i, count: 1 },
    ]),
  );
}

/** A delivery that keeps what it got, failing while `failing` is set. */
class Recorder implements Delivery {
  readonly chunks: string[][] = [];
  failing: WriterError | undefined;
  deliver(chunk: readonly FlushBatch[]): Promise<number> {
    if (this.failing) return Promise.reject(this.failing);
    this.chunks.push(chunk.flatMap((b) => b.names.map((n) => `${b.time}:${n}`)));
    return Promise.resolve(1);
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
  get points(): string[] {
    return this.chunks.flat();
  }
}

function options(overrides: Partial<QueuedWriterOptions> = {}): QueuedWriterOptions {
  return {
    name: 'rec',
    immediate: false,
    maxQueuePoints: 1_000,
    batch: { initial: 10, min: 1, max: 100, targetMs: 1_000, grow: 2, shrink: 0.5, window: 1, adaptive: false },
    maxBatchBytes: 1 << 30,
    flushIntervalMs: 60_000,
    maxRetries: 3,
    backoff: { baseMs: 5, maxMs: 10 },
    writeTimeoutMs: 1_000,
    closeTimeoutMs: 200,
    spillDir: dir(),
    resolutions,
    ...overrides,
  };
}

describe('QueuedWriter', () => {
  it('cuts batches at the batch size and sends the rest at the flush interval', async () => {
    const rec = new Recorder();
    const registry = new MetricsRegistry();
    const writer = await QueuedWriter.open(rec, options({ flushIntervalMs: 150 }), { registry });
    await writer.write(batch(0, 25));
    await waitFor('two full batches', () => rec.chunks.length >= 2);
    expect(rec.chunks.map((c) => c.length)).toEqual([10, 10]);
    const started = Date.now();
    await waitFor('the remainder, by time', () => rec.chunks.length === 3);
    expect(Date.now() - started).toBeGreaterThanOrEqual(100);
    expect(rec.chunks[2]).toHaveLength(5);
    expect(registry.value('writer_points_written_total', 'rec')).toBe(25);
    expect(registry.value('writer_deliveries_total', 'rec')).toBe(3);
    await writer.close();
  });

  it('drops the oldest past its queue bound, counted', async () => {
    const rec = new Recorder();
    rec.failing = new WriterError('connect', 'down');
    const registry = new MetricsRegistry();
    const writer = await QueuedWriter.open(rec, options({ maxQueuePoints: 30, spillDir: '' }), { registry });
    for (let t = 0; t < 5; t++) await writer.write(batch(t * 10, 10));
    // One chunk of 10 is in hand (retrying); the queue keeps the newest 30.
    await waitFor('retries', () => registry.value('writer_retries_total', 'rec') > 0);
    expect(registry.value('writer_dropped_points_total', 'rec', 'queue_full')).toBe(10);
    rec.failing = undefined;
    await waitFor('all kept points delivered', () => rec.points.length === 40);
    expect(rec.points.some((p) => p.startsWith('10:'))).toBe(false);
    expect(registry.value('writer_errors_total', 'rec', 'connect')).toBeGreaterThan(0);
    await writer.close();
  });

  it('drops refused points at once and gives up after max_retries, both counted', async () => {
    const rec = new Recorder();
    const registry = new MetricsRegistry();
    rec.failing = new WriterError('refused', 'bad data', true);
    const writer = await QueuedWriter.open(rec, options({ immediate: true }), { registry });
    await writer.write(batch(0, 4));
    await waitFor('refused', () => registry.value('writer_dropped_points_total', 'rec', 'refused') === 4);
    expect(registry.value('writer_retries_total', 'rec')).toBe(0);
    rec.failing = new WriterError('server', '503');
    await writer.write(batch(10, 3));
    await waitFor('exhausted', () => registry.value('writer_dropped_points_total', 'rec', 'retries_exhausted') === 3);
    expect(registry.value('writer_retries_total', 'rec')).toBe(3);
    await writer.close();
  });

  it('spills what it cannot deliver at close and delivers it first after reopening', async () => {
    const rec = new Recorder();
    rec.failing = new WriterError('timeout', 'slow');
    const writer = await QueuedWriter.open(rec, options({ maxRetries: 1_000 }), { registry: new MetricsRegistry() });
    await writer.write(batch(0, 15, 'a'));
    await writer.write(batch(10, 5, 'b'));
    await writer.close();
    const file = spillPath(dir(), 'rec');
    expect(existsSync(file)).toBe(true);

    const again = new Recorder();
    const reopened = await QueuedWriter.open(again, options({ flushIntervalMs: 10 }), {
      registry: new MetricsRegistry(),
    });
    await reopened.write(batch(20, 2, 'c'));
    await waitFor('everything delivered', () => again.points.length === 22);
    expect(again.points.slice(0, 20)).toEqual([
      ...Array.from({ length: 15 }, (_, i) => `0:a.${i}`),
      ...Array.from({ length: 5 }, (_, i) => `10:b.${i}`),
    ]);
    await waitFor('spill file removed', () => !existsSync(file));
    await reopened.close();
    expect(existsSync(file)).toBe(false);
  });
});

describe('QueuedWriter with an adaptive batch', () => {
  it('retries a chunk the server refuses as too large at the shrunk size, in order, losing nothing', async () => {
    const got: string[] = [];
    const registry = new MetricsRegistry();
    const tooLarge: Delivery = {
      deliver: (chunk) => {
        const points = chunk.reduce((n, b) => n + b.names.length, 0);
        if (points > 30) return Promise.reject(new WriterError('server', `batch of ${points} too large`));
        got.push(...chunk.flatMap((b) => b.names.map((n) => `${b.time}:${n}`)));
        return Promise.resolve(points);
      },
      close: () => Promise.resolve(),
    };
    const writer = await QueuedWriter.open(
      tooLarge,
      options({
        batch: { initial: 100, min: 10, max: 100, targetMs: 1_000, grow: 2, shrink: 0.5, window: 3, adaptive: true },
        flushIntervalMs: 20,
      }),
      { registry },
    );
    await writer.write(batch(0, 150));
    await writer.write(batch(10, 50));
    await waitFor('all 200 delivered', () => got.length === 200);
    expect(got).toEqual([
      ...Array.from({ length: 150 }, (_, i) => `0:s.${i}`),
      ...Array.from({ length: 50 }, (_, i) => `10:s.${i}`),
    ]);
    expect(writer.batchSize).toBeLessThanOrEqual(50);
    expect(registry.value('writer_retries_total', 'rec')).toBeGreaterThanOrEqual(2);
    expect(registry.value('writer_dropped_points_total', 'rec', 'retries_exhausted')).toBe(0);
    await writer.close();
  });
});

describe('AdaptiveBatchSize', () => {
  it('grows after a clean full window, shrinks on slow or failed deliveries, within bounds', () => {
    const size = new AdaptiveBatchSize({
      initial: 100,
      min: 50,
      max: 1000,
      targetMs: 100,
      grow: 2,
      shrink: 0.5,
      window: 2,
      adaptive: true,
    });
    size.observe(10, false, true);
    expect(size.size).toBe(100);
    size.observe(10, false, true);
    expect(size.size).toBe(200);
    size.observe(10, false, false); // not full: no evidence more would be faster
    size.observe(10, false, false);
    expect(size.size).toBe(200);
    for (let i = 0; i < 20; i++) size.observe(10, false, true);
    expect(size.size).toBe(1000);
    size.observe(500, false, true);
    expect(size.size).toBe(500);
    size.observe(10, true, true);
    expect(size.size).toBe(250);
    for (let i = 0; i < 10; i++) size.observe(10, true, true);
    expect(size.size).toBe(50);
  });
});

describe('[[writers]] config', () => {
  const read = (writers: unknown[]) =>
    readWriters(new ConfigSource({ writers }), WRITER_TYPES, { spillDir: '/tmp/spill' });

  it('reads entries of several types and names', () => {
    const writers = read([{ type: 'log' }, { type: 'log', name: 'audit', path: '/tmp/x.log' }]);
    expect(writers.map((w) => [w.type, w.name])).toEqual([
      ['log', 'log'],
      ['log', 'audit'],
    ]);
  });

  it('names the entry and key of every mistake', () => {
    const problem = (writers: unknown[]): string => {
      try {
        read(writers);
      } catch (error) {
        if (error instanceof ConfigError) return error.key;
        throw error;
      }
      return 'none';
    };
    expect(problem([{ type: 'log' }, { type: 'nope' }])).toBe('writers[1].type');
    expect(problem([{ type: 'log', bogus: 1 }])).toBe('writers[0].bogus');
    expect(problem([{ type: 'log', queue_max_points: 0 }])).toBe('writers[0].queue_max_points');
    expect(problem([{ type: 'log' }, { type: 'log' }])).toBe('writers[1].name');
    expect(problem([{ type: 'log', batch_points: 3 }])).toBe('writers[0].batch_points');
  });
});
