/**
 * Flush ticks and what follows them: after each tick, once the writers finished every batch handed over, the
 * flush watermark (end of the finest windows written) is persisted, relay batches waiting on those windows
 * become durable (the tracker tells the ingest server, which sends the new acks). One follow-up runs at a time; a failed watermark
 * write is logged and counted, and durability waits for the next one (relays keep their batches meanwhile).
 */
import { FlushTicker, type Aggregator } from '@carillon/aggregator';
import type { Logger, MetricsRegistry } from '@carillon/core';
import type { DurabilityTracker } from './durability.js';
import { writeWatermark } from './watermark-file.js';
import type { WriterSink } from './writer-sink.js';

export interface FlushCycleDeps {
  aggregator: Aggregator;
  sink: WriterSink;
  durability: DurabilityTracker;
  /** '' for none. */
  watermarkFile: string;
  memberId: string;
  registry: MetricsRegistry;
  logger: Logger;
}

export class FlushCycle {
  private ticker: FlushTicker | undefined;
  private delay: NodeJS.Timeout | undefined;
  private following: Promise<void> = Promise.resolve();
  private written: number;
  private readonly waiters = new Set<{ through: number; resolve: () => void }>();
  private readonly watermarkErrors;

  constructor(private readonly deps: FlushCycleDeps) {
    this.written = deps.durability.currentWatermark;
    this.watermarkErrors = deps.registry
      .counter('accumulator_watermark_write_errors_total', 'Failed writes of the flush watermark file')
      .labels();
    deps.registry.gauge(
      'accumulator_flush_watermark_seconds',
      'End of the finest windows flushed and written',
      [],
      (g) => g.labels().set(this.written),
    );
  }

  /** End of the finest windows flushed, written and (if configured) persisted. */
  get watermark(): number {
    return this.written;
  }

  /** Starts ticking on the finest step, after `delayMs` (time for relays to replay after a restart). */
  start(delayMs = 0): void {
    const { aggregator } = this.deps;
    const begin = (): void => {
      this.delay = undefined;
      this.ticker = new FlushTicker(aggregator.resolutions[0]!.step, aggregator.options.graceSeconds, (now) =>
        this.tick(now),
      );
      this.ticker.start();
    };
    if (delayMs > 0) this.delay = setTimeout(begin, delayMs);
    else begin();
  }

  stop(): void {
    if (this.delay !== undefined) clearTimeout(this.delay);
    this.delay = undefined;
    this.ticker?.stop();
    this.ticker = undefined;
  }

  tick(nowSeconds: number): void {
    this.deps.aggregator.tick(nowSeconds);
    this.followUp();
  }

  /** Shutdown: closes and writes every open window, then persists and acks; resolves when done. */
  async flushAll(): Promise<void> {
    this.stop();
    this.deps.aggregator.flushAll();
    this.followUp();
    await this.following;
  }

  /** Resolves once the watermark reaches `through` (or after `timeoutMs`, with false). */
  waitFor(through: number, timeoutMs: number): Promise<boolean> {
    if (this.written >= through) return Promise.resolve(true);
    return new Promise((resolve) => {
      const waiter = {
        through,
        resolve: () => {
          clearTimeout(timer);
          this.waiters.delete(waiter);
          resolve(true);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        resolve(false);
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  private followUp(): void {
    const handed = this.deps.aggregator.handedThrough;
    // The barrier is taken now: it covers what this tick handed over, not later ticks.
    const written = this.deps.sink.barrier();
    this.following = this.following.then(async () => {
      await written;
      // A finest window some writer still has to retry is not stored: the watermark stays before it.
      const through = Math.min(handed, this.deps.sink.unstoredSince(this.deps.aggregator.resolutions[0]!.step));
      if (through <= this.written) return;
      const { watermarkFile, memberId, logger } = this.deps;
      if (watermarkFile !== '') {
        try {
          await writeWatermark(watermarkFile, through, memberId);
        } catch (error) {
          this.watermarkErrors.value++;
          logger.error({ err: error, path: watermarkFile }, 'could not write the flush watermark; acks wait');
          return;
        }
      }
      this.written = through;
      // Relays hear of it through the durability tracker's listeners (the ingest server sends acks).
      this.deps.durability.advance(through);
      for (const waiter of [...this.waiters]) if (waiter.through <= through) waiter.resolve();
    });
  }
}
