/**
 * The queue every pushing writer of the catalogue runs behind (immediate, batched and connection-based alike).
 * `write()` only appends the batch to this writer's own bounded queue and returns, so a slow or failing writer
 * never holds up the flush or the other writers; past `queue_max_points` the oldest points are dropped (counted).
 * One loop per writer takes chunks off the queue (for an immediate writer: whatever is queued, at once; for a
 * batched one: when the adaptive batch size in points or `batch_max_bytes` is reached, or the oldest point has
 * waited `flush_interval`, whichever comes first) and hands them to the writer's `Delivery`, every call under
 * `write_timeout`. A failed delivery is retried with capped backoff up to `max_retries` times, then dropped
 * (counted); a refused one (the server rejects the data itself) is dropped at once (counted).
 *
 * close() delivers everything queued within `close_timeout`; what is left then is written to the spill file and
 * delivered first when the writer opens again (spill.ts). Delivery is at least once: a delivery cut off by the
 * close deadline may have landed and is delivered again after the restart.
 */
import {
  STAT_STRIDE,
  type FlushBatch,
  type Logger,
  type MetricsRegistry,
  type Resolution,
  type Writer,
} from '@carillon/core';
import { AdaptiveBatchSize, type AdaptiveBatchOptions } from './adaptive-batch.js';
import { errorKind, isPermanent } from './errors.js';
import { outputMetrics, type OutputMetrics } from './metrics.js';
import { readSpill, removeSpill, spillPath, writeSpill } from './spill.js';
import { backoffDelay, pause, withTimeout, type BackoffOptions } from './timing.js';

/** What a writer type does with a chunk: the part that differs between writers. */
export interface Delivery {
  /**
   * Delivers every point of `chunk` (FlushBatches or slices of them, in flush order) or throws (a WriterError
   * names the kind and whether it is permanent). Resolves with the bytes sent. `signal` aborts at the write
   * timeout and at the close deadline.
   */
  deliver(chunk: readonly FlushBatch[], signal: AbortSignal): Promise<number>;
  /** Encoded bytes of a batch, estimated, for `batch_max_bytes` (default: the names plus 100 bytes a point). */
  sizeOf?(batch: FlushBatch): number;
  /** Releases connections and files; called once, after the last delivery. */
  close(): Promise<void>;
}

export interface QueuedWriterOptions {
  name: string;
  /** Immediate: every queued point goes at once, no batch size or interval. */
  immediate: boolean;
  maxQueuePoints: number;
  batch: AdaptiveBatchOptions;
  maxBatchBytes: number;
  flushIntervalMs: number;
  maxRetries: number;
  backoff: BackoffOptions;
  writeTimeoutMs: number;
  closeTimeoutMs: number;
  /** Where the spill file lives; '' keeps none (what is left at close is dropped, counted). */
  spillDir: string;
  resolutions: readonly Resolution[];
}

export interface QueuedWriterDeps {
  registry: MetricsRegistry;
  logger?: Logger;
}

interface Entry {
  batch: FlushBatch;
  /** Series of `batch` already taken (the head entry can be cut by a batch boundary). */
  offset: number;
  /** When it was queued (performance.now()), for the flush interval. */
  queuedAt: number;
  /** Of its points not yet taken, how many (the first ones) came from the spill file. */
  spill: number;
  /** Estimated encoded bytes of one of its points. */
  bytesPerPoint: number;
}

interface Chunk {
  batches: FlushBatch[];
  points: number;
  spillPoints: number;
  /** Cut at the batch size: more was waiting. */
  full: boolean;
}

const DEFAULT_BYTES_PER_POINT = 100;

export class QueuedWriter implements Writer {
  readonly name: string;
  private readonly queue: Entry[] = [];
  private queuedPoints = 0;
  private queuedBytes = 0;
  private readonly adaptive: AdaptiveBatchSize;
  private readonly metrics: OutputMetrics;
  private readonly unwatch: () => void;
  private wake: (() => void) | undefined;
  private closing = false;
  private closed = false;
  /** Aborted at the close deadline: deliveries and backoffs stop, what is left is spilled. */
  private readonly deadline = new AbortController();
  /** The chunk being delivered, until it is delivered or dropped. */
  private current: Chunk | undefined;
  private spillPointsLeft = 0;
  private readonly spillFile: string;
  private readonly loop: Promise<void>;

  private constructor(
    private readonly delivery: Delivery,
    private readonly options: QueuedWriterOptions,
    private readonly deps: QueuedWriterDeps,
    spilled: readonly FlushBatch[],
  ) {
    this.name = options.name;
    this.adaptive = new AdaptiveBatchSize(options.batch);
    this.metrics = outputMetrics(deps.registry);
    this.spillFile = spillPath(options.spillDir, options.name);
    this.unwatch = this.metrics.watch({
      name: this.name,
      queuedPoints: () => this.queuedPoints + (this.current?.points ?? 0),
      batchSize: () => (options.immediate ? 0 : this.adaptive.size),
      lastLatencyMs: () => this.adaptive.lastLatencyMs,
    });
    for (const batch of spilled) this.enqueue(batch, true);
    this.loop = this.run();
  }

  /** Opens the writer; what the last run spilled is queued first. */
  static async open(delivery: Delivery, options: QueuedWriterOptions, deps: QueuedWriterDeps): Promise<QueuedWriter> {
    let spilled: FlushBatch[] = [];
    if (options.spillDir !== '') {
      const loaded = await readSpill(spillPath(options.spillDir, options.name), options.resolutions);
      spilled = loaded.batches;
      const dropped = outputMetrics(deps.registry).dropped;
      if (loaded.unknownPoints > 0) dropped.labels(options.name, 'spill_unknown_resolution').inc(loaded.unknownPoints);
      if (loaded.badLines > 0)
        deps.logger?.error({ writer: options.name, lines: loaded.badLines }, 'spill lines unreadable');
      if (spilled.length > 0)
        deps.logger?.info(
          { writer: options.name, points: spilled.reduce((n, b) => n + b.names.length, 0) },
          'writer resumes with its spilled points',
        );
    }
    return new QueuedWriter(delivery, options, deps, spilled);
  }

  write(batch: FlushBatch): Promise<void> {
    if (this.closing) this.metrics.dropped.labels(this.name, 'closed').inc(batch.names.length);
    else if (batch.names.length > 0) this.enqueue(batch, false);
    return Promise.resolve();
  }

  /** Points queued or being delivered (tests, health). */
  get backlog(): number {
    return this.queuedPoints + (this.current?.points ?? 0);
  }

  get batchSize(): number {
    return this.adaptive.size;
  }

  /** Delivers what is queued within close_timeout, spills the rest, closes the delivery. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.closing = true;
    this.wake?.();
    const timer = setTimeout(() => this.deadline.abort(), this.options.closeTimeoutMs);
    await Promise.race([
      this.loop,
      new Promise<void>((resolve) => this.deadline.signal.addEventListener('abort', () => resolve())),
    ]);
    clearTimeout(timer);
    const left: FlushBatch[] = [];
    if (this.current !== undefined) left.push(...this.current.batches);
    for (const entry of this.queue) left.push(sliceFrom(entry.batch, entry.offset));
    const points = left.reduce((n, b) => n + b.names.length, 0);
    if (this.options.spillDir === '') {
      if (points > 0) this.metrics.dropped.labels(this.name, 'closed').inc(points);
    } else {
      try {
        await writeSpill(this.spillFile, this.options.spillDir, left);
        if (points > 0)
          this.deps.logger?.warn({ writer: this.name, points }, 'writer spilled undelivered points to disk');
      } catch (error) {
        this.metrics.dropped.labels(this.name, 'spill_failed').inc(points);
        this.deps.logger?.error({ err: error, writer: this.name, points }, 'writer could not spill its points');
      }
    }
    this.unwatch();
    try {
      await withTimeout(this.delivery.close(), this.options.closeTimeoutMs, `${this.name} close`);
    } catch (error) {
      this.deps.logger?.error({ err: error, writer: this.name }, 'writer close failed');
    }
  }

  private enqueue(batch: FlushBatch, fromSpill: boolean): void {
    const bytes = this.sizeOf(batch);
    this.queue.push({
      batch,
      offset: 0,
      queuedAt: performance.now(),
      spill: fromSpill ? batch.names.length : 0,
      bytesPerPoint: batch.names.length === 0 ? 0 : bytes / batch.names.length,
    });
    this.queuedPoints += batch.names.length;
    this.queuedBytes += bytes;
    if (fromSpill) this.spillPointsLeft += batch.names.length;
    while (this.queuedPoints > this.options.maxQueuePoints && this.queue.length > 0) {
      const oldest = this.queue.shift()!;
      const points = oldest.batch.names.length - oldest.offset;
      this.forget(oldest, points);
      this.metrics.dropped.labels(this.name, 'queue_full').inc(points);
      if (oldest.spill > 0) this.spillDone(oldest.spill);
    }
    this.wake?.();
  }

  private sizeOf(batch: FlushBatch): number {
    if (this.delivery.sizeOf !== undefined) return this.delivery.sizeOf(batch);
    let bytes = 0;
    for (const name of batch.names) bytes += name.length + DEFAULT_BYTES_PER_POINT;
    return bytes;
  }

  private forget(entry: Entry, points: number): void {
    this.queuedPoints -= points;
    this.queuedBytes -= entry.bytesPerPoint * points;
    if (this.queuedPoints === 0) this.queuedBytes = 0;
  }

  /** Whether a chunk should go now; otherwise how long until the oldest point's interval ends. */
  private due(): number {
    if (this.queuedPoints === 0) return Infinity;
    if (this.options.immediate || this.closing) return 0;
    if (this.queuedPoints >= this.adaptive.size || this.queuedBytes >= this.options.maxBatchBytes) return 0;
    return Math.max(0, this.queue[0]!.queuedAt + this.options.flushIntervalMs - performance.now());
  }

  private async waitUntilDue(): Promise<void> {
    for (;;) {
      const wait = this.due();
      if (wait === 0) return;
      if (this.closing && this.queuedPoints === 0) return;
      await new Promise<void>((resolve) => {
        const timer = wait === Infinity ? undefined : setTimeout(resolve, wait);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }

  /** Takes up to the batch size in points (everything for an immediate writer) off the queue. */
  private take(): Chunk {
    const limit = this.options.immediate ? Infinity : this.adaptive.size;
    const byteLimit = this.options.immediate ? Infinity : this.options.maxBatchBytes;
    const chunk: Chunk = { batches: [], points: 0, spillPoints: 0, full: false };
    let bytes = 0;
    while (this.queue.length > 0 && chunk.points < limit && bytes < byteLimit) {
      const entry = this.queue[0]!;
      const total = entry.batch.names.length;
      const perPoint = entry.bytesPerPoint;
      const byBytes = perPoint === 0 ? Infinity : Math.max(1, Math.floor((byteLimit - bytes) / perPoint));
      const take = Math.min(total - entry.offset, limit - chunk.points, byBytes);
      chunk.batches.push(sliceRange(entry.batch, entry.offset, entry.offset + take));
      chunk.points += take;
      bytes += take * perPoint;
      const spillTaken = Math.min(take, entry.spill);
      entry.spill -= spillTaken;
      chunk.spillPoints += spillTaken;
      this.forget(entry, take);
      entry.offset += take;
      if (entry.offset === total) this.queue.shift();
    }
    chunk.full = this.queuedPoints > 0;
    return chunk;
  }

  private async run(): Promise<void> {
    for (;;) {
      await this.waitUntilDue();
      if (this.deadline.signal.aborted) return;
      if (this.queuedPoints === 0) {
        if (this.closing) return;
        continue;
      }
      const chunk = this.take();
      this.current = chunk;
      const settled = await this.deliverWithRetries(chunk);
      if (!settled) return; // the close deadline passed: the chunk stays in `current` for the spill
      this.current = undefined;
      if (chunk.spillPoints > 0) this.spillDone(chunk.spillPoints);
    }
  }

  /** True once the chunk is delivered or dropped; false when the close deadline cut it off. */
  private async deliverWithRetries(chunk: Chunk): Promise<boolean> {
    const { name } = this;
    const m = this.metrics;
    for (let attempt = 1; ; attempt++) {
      const started = performance.now();
      const timeout = AbortSignal.timeout(this.options.writeTimeoutMs);
      const signal = AbortSignal.any([timeout, this.deadline.signal]);
      try {
        const bytes = await withTimeout(
          this.delivery.deliver(chunk.batches, signal),
          this.options.writeTimeoutMs,
          `${name} delivery`,
        );
        const ms = performance.now() - started;
        this.adaptive.observe(ms, false, chunk.full);
        m.latency.labels(name).observe(ms / 1000);
        m.pointsWritten.labels(name).inc(chunk.points);
        m.deliveries.labels(name).inc();
        m.bytes.labels(name).inc(bytes);
        return true;
      } catch (error) {
        const ms = performance.now() - started;
        if (this.deadline.signal.aborted) return false;
        this.adaptive.observe(ms, true, chunk.full);
        m.errors.labels(name, errorKind(error)).inc();
        if (isPermanent(error)) {
          m.dropped.labels(name, 'refused').inc(chunk.points);
          this.deps.logger?.error({ err: error, writer: name, points: chunk.points }, 'writer refused points: dropped');
          return true;
        }
        if (attempt > this.options.maxRetries) {
          m.dropped.labels(name, 'retries_exhausted').inc(chunk.points);
          this.deps.logger?.error(
            { err: error, writer: name, points: chunk.points },
            'writer gave up on points after retries',
          );
          return true;
        }
        if (attempt === 1) this.deps.logger?.warn({ err: error, writer: name }, 'writer delivery failed: retrying');
        // The batch shrank: retry with a chunk of the new size (a batch too large for the server then gets through).
        if (!this.options.immediate && chunk.points > this.adaptive.size) this.requeueBeyond(chunk, this.adaptive.size);
        m.retries.labels(name).inc();
        await pause(backoffDelay(attempt, this.options.backoff), this.deadline.signal);
        if (this.deadline.signal.aborted) return false;
      }
    }
  }

  /** Cuts `chunk` to its first `keep` points; the rest goes back to the front of the queue, in order. */
  private requeueBeyond(chunk: Chunk, keep: number): void {
    const kept: FlushBatch[] = [];
    const back: Entry[] = [];
    let seen = 0;
    let spillLeft = chunk.spillPoints;
    for (const batch of chunk.batches) {
      const n = batch.names.length;
      const stay = Math.max(0, Math.min(n, keep - seen));
      if (stay > 0) kept.push(sliceRange(batch, 0, stay));
      spillLeft -= Math.min(spillLeft, stay);
      if (stay < n) {
        const rest = sliceRange(batch, stay, n);
        const spill = Math.min(spillLeft, n - stay);
        spillLeft -= spill;
        back.push({ batch: rest, offset: 0, queuedAt: 0, spill, bytesPerPoint: n === 0 ? 0 : this.sizeOf(batch) / n });
      }
      seen += n;
    }
    const moved = back.reduce((total, e) => total + e.batch.names.length, 0);
    const movedSpill = back.reduce((total, e) => total + e.spill, 0);
    this.queue.unshift(...back);
    this.queuedPoints += moved;
    for (const e of back) this.queuedBytes += e.bytesPerPoint * e.batch.names.length;
    chunk.batches = kept;
    chunk.points -= moved;
    chunk.spillPoints -= movedSpill;
    chunk.full = true;
  }

  private spillDone(points: number): void {
    this.spillPointsLeft -= points;
    if (this.spillPointsLeft === 0 && this.options.spillDir !== '' && !this.closing)
      void removeSpill(this.spillFile).catch((error: unknown) =>
        this.deps.logger?.error({ err: error, writer: this.name }, 'could not remove the spill file'),
      );
  }
}

function sliceRange(batch: FlushBatch, from: number, to: number): FlushBatch {
  if (from === 0 && to === batch.names.length) return batch;
  return {
    resolution: batch.resolution,
    time: batch.time,
    names: batch.names.slice(from, to),
    stats: batch.stats.subarray(from * STAT_STRIDE, to * STAT_STRIDE),
  };
}

function sliceFrom(batch: FlushBatch, from: number): FlushBatch {
  return sliceRange(batch, from, batch.names.length);
}
