/**
 * The write pool: long-lived worker threads, each owning its writers. A flush batch is split by series id
 * (series-shard.ts) so a series always goes to the same worker; each worker's share travels as transferred
 * buffers (names are the only thing cloned). The pool counts, per writer, the points handed over and not yet
 * written: `overloaded()` is true while every writer is above the high-water mark, which makes the aggregator skip
 * its flush (a writer that alone falls behind fills its own bounded lane and drops there, counted, instead of
 * holding back the others). Workers report their writers' counters periodically into the main registry.
 */
import { Worker } from 'node:worker_threads';
import {
  STAT_STRIDE,
  TIME_STRIDE,
  subsetBatch,
  type FlushBatch,
  type Logger,
  type MetricsRegistry,
  type WriteOutcome,
  type Writer,
} from '@carillon/core';
import type { FromWorker, LaneStats, ToWorker, WorkerSetup, WriterSpec } from './messages.js';
import { idsAndShards } from './series-shard.js';
import { WRITER_STATS, type WriterStatName } from './shard-writer.js';
import { builtThreadScript } from '../thread-script.js';

export interface WritePoolOptions {
  name: string;
  workers: number;
  writers: WriterSpec[];
  /** Points queued per writer (over all workers) above which the pool reports itself overloaded. */
  highWaterPoints: number;
  /** Points one writer may hold queued in one worker; beyond, shards are dropped for that writer (counted). */
  maxQueuePoints: number;
  /** How often workers report their counters. */
  statsIntervalMs: number;
  /** Delay before a worker that died is replaced. */
  restartDelayMs: number;
  /** How long close() waits for a worker to finish its queue before terminating it. */
  closeTimeoutMs: number;
}

export const DEFAULT_WRITE_POOL_OPTIONS = {
  workers: 2,
  highWaterPoints: 200_000,
  maxQueuePoints: 4_000_000,
  statsIntervalMs: 1_000,
  restartDelayMs: 1_000,
  closeTimeoutMs: 30_000,
} as const;

/** The built worker script. Tests run the pool from src (vitest), but a worker thread needs the compiled file. */
export function workerScriptPath(): string {
  return builtThreadScript(import.meta.url, 'worker-main.js', 'write pool worker');
}

interface PendingWrite {
  batch: FlushBatch;
  /** Acks still to come: one per (worker holding a shard, writer). */
  remaining: number;
  /** Indexes into `batch` of the series some writer could not store: handed back for a retry. */
  failed: Set<number>;
  resolve: (outcome: WriteOutcome) => void;
}

interface WorkerSlot {
  index: number;
  worker: Worker;
  /** seq → the shard this worker holds (its series' indexes in the batch), until every writer acked it. */
  shards: Map<number, { points: number; origin: Int32Array; acked: boolean[] }>;
  lastStats: Record<string, LaneStats>;
  closing: boolean;
  /** Exited and not yet replaced: shares meant for it are lost (counted), not posted into the void. */
  dead: boolean;
}

export class WritePool implements Writer {
  readonly name: string;
  private readonly slots: WorkerSlot[] = [];
  private readonly pending = new Map<number, PendingWrite>();
  /** Points handed over and not yet written or dropped, per writer (index into options.writers). */
  private readonly queued: number[];
  private seq = 0;
  private closed = false;
  /** Callers of drain() waiting for `pending` to empty. */
  private drainWaiters: (() => void)[] = [];
  /** Per writer: points dropped at the last report, and the total when the current drop episode began (-1: none). */
  private readonly dropsSeen = new Map<string, { total: number; episodeStart: number }>();
  private readonly retired: Record<string, LaneStats>[] = [];
  private readonly restarts;
  private readonly pointsLost;

  constructor(
    private readonly options: WritePoolOptions,
    private readonly deps: { metrics: MetricsRegistry; logger?: Logger },
  ) {
    if (!Number.isInteger(options.workers) || options.workers < 1 || options.workers > 256)
      throw new Error('write pool: workers must be an integer from 1 to 256');
    if (options.writers.length === 0) throw new Error('write pool: needs at least one writer');
    this.name = options.name;
    this.queued = options.writers.map(() => 0);
    const registry = deps.metrics;
    registry.gauge(
      'write_pool_queued_points',
      'Points handed to the write pool and not yet written, per writer',
      ['writer'],
      (gauge) => {
        options.writers.forEach((spec, i) => gauge.labels(spec.name).set(this.queued[i]!));
      },
    );
    registry.gauge(
      'write_pool_high_water_points',
      'Queued points per writer above which flushes are skipped',
      [],
      (gauge) => gauge.set(options.highWaterPoints),
    );
    this.restarts = registry
      .counter('write_pool_worker_restarts_total', 'Write pool workers replaced after they died')
      .labels();
    this.pointsLost = registry
      .counter('write_pool_points_lost_total', 'Points held by a write pool worker that died (handed back for a retry)')
      .labels();
    for (const key of Object.keys(WRITER_STATS) as WriterStatName[])
      registry.counter(`write_pool_${key}_total`, WRITER_STATS[key], ['writer']);
    registry.counter(
      'write_pool_shards_dropped_total',
      'Shards a writer refused because its queue in a worker was full (handed back to the writer sink for a retry)',
      ['writer'],
    );
    registry.counter(
      'write_pool_points_dropped_total',
      'Points a writer refused because its queue in a worker was full (handed back to the writer sink for a retry)',
      ['writer'],
    );
    const script = workerScriptPath();
    for (let i = 0; i < options.workers; i++) this.slots.push(this.spawn(i, script));
  }

  private spawn(index: number, script: string): WorkerSlot {
    const setup: WorkerSetup = {
      worker: index,
      writers: this.options.writers,
      maxWriterQueuePoints: this.options.maxQueuePoints,
      statsIntervalMs: this.options.statsIntervalMs,
    };
    const worker = new Worker(script, { workerData: setup, name: `${this.name}-${index}` });
    const slot: WorkerSlot = { index, worker, shards: new Map(), lastStats: {}, closing: false, dead: false };
    worker.on('message', (message: FromWorker) => this.onMessage(slot, message));
    worker.on('error', (error) => this.deps.logger?.error({ err: error, worker: index }, 'write pool worker failed'));
    worker.on('exit', (code) => {
      if (slot.closing) return;
      slot.dead = true;
      // Its counters stay in the totals after the replacement takes its place.
      this.retired.push(slot.lastStats);
      this.deps.logger?.error({ worker: index, code }, 'write pool worker exited: replacing it');
      this.releaseDeadWorker(slot);
      setTimeout(() => {
        if (this.closed) return;
        this.restarts.inc();
        this.slots[index] = this.spawn(index, script);
      }, this.options.restartDelayMs).unref();
    });
    return slot;
  }

  /** A dead worker's shards are not written: count them and hand them back to the writes waiting for them. */
  private releaseDeadWorker(slot: WorkerSlot): void {
    for (const [seq, shard] of slot.shards) {
      if (shard.acked.includes(false)) this.pointsLost.inc(shard.points);
      const all = Array.from({ length: shard.points }, (_, i) => i);
      shard.acked.forEach((acked, lane) => {
        if (!acked) this.settle(slot, seq, lane, all);
      });
    }
  }

  private onMessage(slot: WorkerSlot, message: FromWorker): void {
    switch (message.type) {
      case 'done':
        this.settle(slot, message.seq, message.lane, message.failed);
        break;
      case 'stats':
      case 'closed':
        slot.lastStats = message.lanes;
        this.publishStats();
        break;
    }
  }

  /**
   * One writer finished (or refused) one worker's shard of write `seq`; `failed` are the shard's series it could
   * not store (indexes in the shard).
   */
  private settle(slot: WorkerSlot, seq: number, lane: number, failed?: readonly number[]): void {
    const shard = slot.shards.get(seq);
    if (!shard || shard.acked[lane]) return;
    shard.acked[lane] = true;
    this.queued[lane]! -= shard.points;
    if (!shard.acked.includes(false)) slot.shards.delete(seq);
    const write = this.pending.get(seq);
    if (!write) return;
    if (failed) for (const i of failed) write.failed.add(shard.origin[i]!);
    if (--write.remaining === 0) {
      this.pending.delete(seq);
      const failedIndexes = [...write.failed].sort((a, b) => a - b);
      write.resolve(failedIndexes.length === 0 ? {} : { retry: subsetBatch(write.batch, failedIndexes) });
      if (this.pending.size === 0) for (const done of this.drainWaiters.splice(0)) done();
    }
  }

  /** Sums every worker's last report (and those of workers that died) into the registry. */
  private publishStats(): void {
    const registry = this.deps.metrics;
    this.options.writers.forEach((spec) => {
      const reports = [...this.slots.map((s) => s.lastStats[spec.name]), ...this.retired.map((r) => r[spec.name])];
      const sum = (pick: (stats: LaneStats) => number): number =>
        reports.reduce((total, stats) => total + (stats ? pick(stats) : 0), 0);
      for (const key of Object.keys(WRITER_STATS) as WriterStatName[])
        registry.counter(`write_pool_${key}_total`, WRITER_STATS[key], ['writer']).labels(spec.name).value = sum(
          (s) => s.writer[key],
        );
      const dropped = sum((s) => s.pointsDropped);
      registry.counter('write_pool_shards_dropped_total', '', ['writer']).labels(spec.name).value = sum(
        (s) => s.shardsDropped,
      );
      registry.counter('write_pool_points_dropped_total', '', ['writer']).labels(spec.name).value = dropped;
      // Logged once per drop episode: at its first report, and once more when a report shows it over.
      const seen = this.dropsSeen.get(spec.name) ?? { total: 0, episodeStart: -1 };
      if (dropped > seen.total && seen.episodeStart < 0) {
        this.deps.logger?.warn(
          { writer: spec.name, pointsDropped: dropped - seen.total, totalPointsDropped: dropped },
          'write pool: writer queue full, shards dropped for this writer',
        );
        seen.episodeStart = seen.total;
      } else if (dropped === seen.total && seen.episodeStart >= 0) {
        this.deps.logger?.info(
          { writer: spec.name, pointsDropped: dropped - seen.episodeStart, totalPointsDropped: dropped },
          'write pool: writer no longer dropping shards',
        );
        seen.episodeStart = -1;
      }
      seen.total = dropped;
      this.dropsSeen.set(spec.name, seen);
    });
  }

  /** True while every writer holds more queued points than the high-water mark. */
  /** Liveness: undefined while every worker runs (one that died is replaced after restartDelayMs). */
  notLive(): string | undefined {
    const dead = this.slots.filter((slot) => slot.dead).map((slot) => slot.index);
    return dead.length === 0 ? undefined : `write pool workers ${dead.join(', ')} not running`;
  }

  overloaded(): boolean {
    return this.queued.every((points) => points > this.options.highWaterPoints);
  }

  /** Points handed over and not yet written or dropped, for the writer at `writer` (default: the most behind). */
  queuedPoints(writer?: number): number {
    return writer === undefined ? Math.max(...this.queued) : (this.queued[writer] ?? 0);
  }

  /**
   * Splits the batch by worker and hands each share over; resolves when every writer wrote or refused it, with the
   * series some writer could not store (after its retries, or refused by a full queue, or held by a worker that
   * died) handed back for a retry.
   */
  write(batch: FlushBatch): Promise<WriteOutcome> {
    if (this.closed) return Promise.reject(new Error(`write pool ${this.name} is closed`));
    const count = batch.names.length;
    if (count === 0) return Promise.resolve({});
    const workers = this.slots.length;
    const { ids, shards } = idsAndShards(batch.names, workers);
    const sizes = new Array<number>(workers).fill(0);
    for (let i = 0; i < count; i++) sizes[shards[i]!]!++;
    const seq = ++this.seq;
    const lanes = this.options.writers.length;
    const parts = sizes.map((size) => ({
      names: new Array<string>(size),
      ids: new BigInt64Array(size),
      stats: new Float64Array(size * STAT_STRIDE),
      times: batch.times === undefined ? undefined : new Float64Array(size * TIME_STRIDE),
      origin: new Int32Array(size),
      n: 0,
    }));
    for (let i = 0; i < count; i++) {
      const part = parts[shards[i]!]!;
      const j = part.n++;
      part.origin[j] = i;
      part.names[j] = batch.names[i]!;
      part.ids[j] = ids[i]!;
      part.stats.set(batch.stats.subarray(i * STAT_STRIDE, (i + 1) * STAT_STRIDE), j * STAT_STRIDE);
      part.times?.set(batch.times!.subarray(i * TIME_STRIDE, (i + 1) * TIME_STRIDE), j * TIME_STRIDE);
    }
    // A worker that died and is not replaced yet takes nothing: its share goes straight back for a retry.
    const failed = new Set<number>();
    for (const [w, part] of parts.entries()) {
      if (part.n > 0 && this.slots[w]!.dead) {
        this.pointsLost.inc(part.n);
        for (const i of part.origin) failed.add(i);
        part.n = 0;
      }
    }
    return new Promise<WriteOutcome>((resolve) => {
      const holding = parts.filter((part) => part.n > 0).length;
      if (holding === 0)
        return resolve({
          retry: subsetBatch(
            batch,
            [...failed].sort((a, b) => a - b),
          ),
        });
      this.pending.set(seq, { batch, remaining: holding * lanes, failed, resolve });
      parts.forEach((part, w) => {
        if (part.n === 0) return;
        const slot = this.slots[w]!;
        slot.shards.set(seq, { points: part.n, origin: part.origin, acked: new Array<boolean>(lanes).fill(false) });
        for (let lane = 0; lane < lanes; lane++) this.queued[lane]! += part.n;
        const message: ToWorker = {
          type: 'write',
          seq,
          resolution: batch.resolution,
          time: batch.time,
          names: part.names,
          ids: part.ids,
          stats: part.stats,
        };
        const transfer: ArrayBuffer[] = [part.ids.buffer, part.stats.buffer];
        if (part.times !== undefined) {
          message.times = part.times;
          transfer.push(part.times.buffer);
        }
        if (batch.amend !== undefined) message.amend = true;
        slot.worker.postMessage(message, transfer);
      });
    });
  }

  /** Resolves once every write handed over so far is written or dropped. */
  async drain(): Promise<void> {
    while (this.pending.size > 0) await new Promise<void>((resolve) => this.drainWaiters.push(resolve));
  }

  /** Waits for queued writes, then closes every worker's writers and stops the workers. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(
      this.slots.map(
        (slot) =>
          new Promise<void>((resolve) => {
            slot.closing = true;
            const timer = setTimeout(() => {
              // Whatever the worker still holds is lost with it: counted, and its writes settled.
              this.releaseDeadWorker(slot);
              this.deps.logger?.warn(
                { worker: slot.index },
                'write pool worker did not finish its queue in time: terminated',
              );
              void slot.worker.terminate();
            }, this.options.closeTimeoutMs);
            slot.worker.once('exit', () => {
              clearTimeout(timer);
              resolve();
            });
            slot.worker.postMessage({ type: 'close' } satisfies ToWorker);
          }),
      ),
    );
  }
}
