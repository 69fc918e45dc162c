import { performance } from 'node:perf_hooks';
import {
  MetricsRegistry,
  type CounterChild,
  type FlushBatch,
  type GraphiteSample,
  type Logger,
  type PendingSource,
  type Resolution,
  type StatPoint,
  type StatsdBytesSample,
  type StatsdSample,
  windowStart,
} from '@carillon/core';
import { AggregatorMetrics } from './aggregator-metrics.js';
import type { AggregatorOptions } from './options.js';
import { Rollups, type ClosedWindow } from './rollups.js';
import { SeriesRegistry, type NewSeriesListener } from './series-registry.js';
import { StatsdAggregator, type StatsdKeyOwnership } from './statsd.js';
import type { StatsdOptions } from './statsd-options.js';
import { FlushTicker, systemClock, systemScheduler, type Clock, type Scheduler } from './ticker.js';

/** The clock and lateness bound a logged record was first received under (Aggregator.replaying). */
export interface ReplayMoment {
  nowSeconds: number;
  /** Start of the oldest finest window open when the record was received: older Graphite points were amends. */
  acceptFrom: number;
  /**
   * The log's replay floor: windows from here on are rebuilt from the log and written over what is stored, so an
   * amend of one of them is rebuilt into it like any point. Older windows are not rebuilt (0: every window is).
   */
  floor?: number;
  /**
   * False when the record's amends are not known to be in the store (it lies at or past the log's amend mark, see
   * accumulator wal/amend-mark.ts): those of windows below the floor are merged into the store again.
   */
  amendsStored?: boolean;
}

/** Where closed windows go: in production the write pool. */
export interface FlushSink {
  /** True when the sink is over its high-water mark: the aggregator then skips the flush. */
  overloaded(): boolean;
  write(batch: FlushBatch): void;
}

export interface AggregatorDeps {
  sink: FlushSink;
  metrics?: MetricsRegistry;
  logger?: Logger;
  clock?: Clock;
  scheduler?: Scheduler;
  /**
   * In a cluster: whether this member owns a StatsD key for a flush interval. StatsD flushes emit only owned keys
   * and drop (and count) the kept state of the others, so a key the ring moved is written by its new owner alone.
   */
  ownsStatsdKey?: StatsdKeyOwnership;
}

/**
 * One accumulator's aggregation: Graphite samples and StatsD output enter the finest windows, flush ticks close
 * windows and hand them to the sink (or keep them pending while the sink is overloaded), and reads see every
 * window not yet handed over.
 */
export class Aggregator implements PendingSource {
  readonly resolutions: readonly Resolution[];
  private readonly series: SeriesRegistry;
  /** When the next sweep for idle series is due (aggregator clock, seconds). */
  private nextIdleSweep = 0;
  private readonly rollups: Rollups;
  private readonly statsd: StatsdAggregator;
  private readonly counters: AggregatorMetrics;
  private readonly sink: FlushSink;
  private readonly logger: Logger | undefined;
  private readonly clock: Clock;
  private readonly scheduler: Scheduler;
  private ticker: FlushTicker | undefined;
  /** Closed windows not yet handed to the sink, in the order they closed (time order per resolution). */
  private queue: ClosedWindow[] = [];
  private queuedPoints = 0;
  /** True from the first skipped flush until a flush goes through: one log line per overload event. */
  private inOverload = false;
  private statsdDropsSeen = 0;
  private statsdDisownedSeen = 0;
  /** While replaying a logged record: the clock and lateness bound in force when it was first received. */
  private replayAt: ReplayMoment | undefined;
  /** The arrival of the StatsD samples last refused (statsdArrival, statsdRefusal). */
  private refusedStatsdArrival = 0;
  private readonly tickListeners: (() => void)[] = [];

  constructor(
    readonly options: AggregatorOptions,
    readonly statsdOptions: StatsdOptions,
    deps: AggregatorDeps,
  ) {
    this.resolutions = options.resolutions;
    this.sink = deps.sink;
    this.logger = deps.logger;
    this.clock = deps.clock ?? systemClock;
    this.scheduler = deps.scheduler ?? systemScheduler;
    const now = this.nowSeconds();
    this.series = new SeriesRegistry(options.maxSeriesBytes ?? Infinity);
    this.series.now = now;
    this.rollups = new Rollups(options.resolutions, options.graceSeconds, now, () => this.series.size);
    this.statsd = new StatsdAggregator(
      statsdOptions,
      options.resolutions[0]!.step,
      options.maxStatsdIntervalValues,
      now,
      deps.ownsStatsdKey,
    );
    this.counters = new AggregatorMetrics(deps.metrics ?? new MetricsRegistry());
  }

  /**
   * Adds one Graphite sample to the window of its timestamp, or, when that window was already flushed, amends it
   * (back to max_lateness); false when it was too old or future and dropped. `nowSeconds`: the clock, when the
   * caller read it already for the lines of this turn. `knownId`: the series' id when the caller found it by its
   * name's bytes (knownSeries); then `sample.name` is not read.
   */
  addGraphite(sample: GraphiteSample, nowSeconds?: number, knownId = -1): boolean {
    return this.addGraphiteAt(sample, this.replayAt?.nowSeconds ?? nowSeconds ?? this.nowSeconds(), knownId);
  }

  /**
   * The id of the known series whose name's UTF-8 bytes are `bytes[start, end)` (a line's key, read in place), or
   * -1; always -1 in a replay, whose late points are added by name. `hash`: their byte-hash, when the caller has it.
   */
  knownSeries(bytes: Uint8Array, start: number, end: number, hash?: number): number {
    return this.replayAt ? -1 : this.series.findBytes(bytes, start, end, hash);
  }

  /**
   * Why a point stamped `timeSeconds` that add* refused just now was refused: older than max_lateness (Graphite),
   * its window closed (StatsD, and replay from the log), or too far ahead.
   */
  refusalOf(timeSeconds: number, protocol: 'graphite' | 'statsd' = 'statsd'): 'late' | 'future' | 'too_old' {
    if (timeSeconds >= this.acceptFrom) return 'future';
    return protocol === 'graphite' && !this.inReplay && timeSeconds < this.amendFrom(this.nowSeconds())
      ? 'too_old'
      : 'late';
  }

  /** Graphite points stamped before this (at `nowSeconds`) are too old to amend their window. */
  private amendFrom(nowSeconds: number): number {
    return nowSeconds - (this.options.maxLatenessSeconds ?? this.resolutions[0]!.ttl);
  }

  /**
   * End of the finest window whose flush, once written, stores a point stamped `timeSeconds` just accepted: its own
   * window, or, for an amend, the oldest window open now (the amend is handed over with it).
   */
  storedWith(timeSeconds: number): number {
    const step = this.resolutions[0]!.step;
    return Math.max(windowStart(timeSeconds, step), this.acceptFrom) + step;
  }

  /** Adds many samples, reading the clock once. */
  addGraphiteBatch(samples: Iterable<GraphiteSample>): void {
    const now = this.nowSeconds();
    for (const sample of samples) this.addGraphiteAt(sample, now);
  }

  /** Adds one StatsD sample to the flush interval of its arrival (now). */
  addStatsd(sample: StatsdSample): void {
    this.statsd.add(sample, this.nowSeconds());
    this.counters.statsdSamples.value++;
  }

  /**
   * Adds samples that arrived at `arrivalSeconds` (default now): a relay passes the time it received them, so a
   * replayed batch lands in the interval of its first delivery. Returns false, counting every sample late (or
   * future), when that interval's window is already closed (or too far ahead of the clock).
   */
  addStatsdBatch(samples: Iterable<StatsdSample>, arrivalSeconds?: number): boolean {
    const arrival = this.statsdArrival(arrivalSeconds);
    if (arrival === undefined) {
      const refused = this.statsdRefusal();
      for (const sample of samples) if (sample) refused.value++;
      return false;
    }
    let n = 0;
    for (const sample of samples) {
      this.statsd.add(sample, arrival);
      n++;
    }
    this.counters.statsdSamples.value += n;
    return true;
  }

  /**
   * addStatsdBatch of one sample, without the batch (a line's only sample; `sample` is not kept). `nowSeconds`:
   * the clock as the caller read it just now, when it did (a listener reads it once per datagram, not per line).
   */
  addStatsdSample(sample: StatsdSample, arrivalSeconds?: number, nowSeconds?: number): boolean {
    const arrival = this.statsdArrival(arrivalSeconds, nowSeconds);
    if (arrival === undefined) {
      this.statsdRefusal().value++;
      return false;
    }
    this.statsd.add(sample, arrival);
    this.counters.statsdSamples.value++;
    return true;
  }

  /** addStatsdSample of a sample read from a line's bytes (its key and member only valid during the call). */
  addStatsdBytes(sample: StatsdBytesSample, arrivalSeconds?: number, nowSeconds?: number): boolean {
    const arrival = this.statsdArrival(arrivalSeconds, nowSeconds);
    if (arrival === undefined) {
      this.statsdRefusal().value++;
      return false;
    }
    this.statsd.addBytes(sample, arrival);
    this.counters.statsdSamples.value++;
    return true;
  }

  /**
   * The arrival time StatsD samples of `arrivalSeconds` (default now) are added at; undefined when their window
   * is closed or too far ahead, that arrival kept for statsdRefusal.
   */
  private statsdArrival(arrivalSeconds: number | undefined, nowSeconds?: number): number | undefined {
    const now = this.replayAt?.nowSeconds ?? nowSeconds ?? this.nowSeconds();
    const arrival = arrivalSeconds ?? now;
    if (arrival >= this.acceptFrom && arrival <= now + this.options.maxFutureSeconds) return arrival;
    this.refusedStatsdArrival = arrival;
    return undefined;
  }

  /** The counter of the StatsD samples statsdArrival just refused (late or future). */
  private statsdRefusal(): CounterChild {
    const arrival = this.refusedStatsdArrival;
    if (this.replayAt) return this.replayRefusal(arrival);
    return arrival < this.acceptFrom ? this.counters.latePoints : this.counters.futurePoints;
  }

  /**
   * Resumes after a restart whose last flushed (and written) finest window ended at `watermark`: windows from
   * there on accept points again, so replayed input rebuilds exactly the windows that were never flushed, and
   * older points count as late. Coarser windows begun before `watermark` are incomplete and are not emitted.
   * Call before any point is added.
   */
  resumeAfter(watermark: number): void {
    this.rollups.resumeAfter(watermark);
    this.statsd.resumeAfter(watermark);
  }

  /**
   * Runs `replay` (input read back from a write-ahead log) as if at `moment`: points are refused as late or
   * future exactly as they were when first received, so a rebuilt window holds what the lost one held.
   * Windows must have been reopened first (resumeAfter at the log's replay floor).
   */
  replaying<T>(moment: ReplayMoment, replay: () => T): T {
    this.replayAt = moment;
    try {
      return replay();
    } finally {
      this.replayAt = undefined;
    }
  }

  /** True inside `replaying`: refusals are counted as replay refusals, not as late or future points. */
  get inReplay(): boolean {
    return this.replayAt !== undefined;
  }

  /** Start of the oldest finest window accepting points now (a log record keeps it for its replay). */
  get acceptFrom(): number {
    const replay = this.replayAt;
    const open = this.rollups.acceptFrom;
    if (replay === undefined) return open;
    return Math.max(replay.acceptFrom, replay.floor ?? 0, open);
  }

  /** The aggregator's clock, in epoch seconds. */
  get now(): number {
    return this.nowSeconds();
  }

  /**
   * End of the windows of `resolution` handed to the sink (or dropped past the pending limit): every point in
   * a window of that resolution ending before it is out of this aggregator. Writers may still be writing.
   */
  handedThroughAt(resolution: Resolution): number {
    let through = this.rollups.acceptFromAt(resolution.index);
    for (const { resolution: r, table, amend } of this.queue)
      if (amend !== undefined) through = Math.min(through, amend.heldFrom);
      else if (r.index === resolution.index && table.start < through) through = table.start;
    return through;
  }

  /**
   * End of the finest windows handed to the sink (or dropped past the pending limit): every point stamped
   * before it is out of this aggregator. Writers may still be writing.
   */
  get handedThrough(): number {
    let through = this.rollups.acceptFrom;
    const finest = this.resolutions[0]!.index;
    for (const { resolution, table, amend } of this.queue)
      if (amend !== undefined) through = Math.min(through, amend.heldFrom);
      else if (resolution.index === finest && table.start < through) through = table.start;
    return through;
  }

  /** Whether amends are held here (queued while the sink is overloaded, or taken since the last tick). */
  get holdsAmends(): boolean {
    return this.rollups.amendPoints() > 0 || this.queue.some(({ amend }) => amend !== undefined);
  }

  /** Coarser windows dropped as incomplete after a restart (see resumeAfter): windows and points. */
  get incompleteWindows(): { windows: number; points: number } {
    return { ...this.rollups.incomplete };
  }

  /**
   * One flush tick at `nowSeconds`: StatsD flush for the intervals that ended, close the windows whose end plus
   * grace passed (merging them into coarser windows), then hand every pending window to the sink, unless the
   * sink is overloaded: then the windows stay pending, and only past maxPendingPoints are the oldest dropped.
   */
  tick(nowSeconds: number): void {
    const started = performance.now();
    this.series.now = nowSeconds;
    this.statsd.flush(nowSeconds, this.addStatsdOutput);
    this.rollups.close(nowSeconds, this.queue);
    this.countQueued();
    if (this.queue.length > 0) {
      if (this.sink.overloaded()) {
        this.counters.flushesSkipped.value++;
        if (!this.inOverload) {
          this.inOverload = true;
          this.logger?.warn(
            { pendingWindows: this.queue.length, pendingPoints: this.queuedPoints },
            'sink overloaded: skipping flushes, windows stay pending',
          );
        }
        this.dropPastLimit();
      } else {
        if (this.inOverload) {
          this.inOverload = false;
          this.logger?.info({ pendingWindows: this.queue.length }, 'sink recovered: flushing pending windows');
        }
        this.writeQueue();
      }
    }
    this.forgetIdle(nowSeconds);
    this.updateGauges();
    this.counters.flushDuration.observe((performance.now() - started) / 1000);
    for (const listener of this.tickListeners) listener();
  }

  /** `listener` runs after each tick and flushAll, once what closed is handed to the sink (or kept pending). */
  onTick(listener: () => void): void {
    this.tickListeners.push(listener);
  }

  /**
   * Forgets the series silent for series_idle_timeout, a few times per timeout: their names (and ids, which are
   * reused) leave memory. A series some open or pending window still holds is kept until that window is written.
   */
  private forgetIdle(nowSeconds: number): void {
    const idle = this.options.seriesIdleSeconds;
    if (idle === undefined || nowSeconds < this.nextIdleSweep) return;
    this.nextIdleSweep = nowSeconds + Math.max(this.resolutions[0]!.step, Math.floor(idle / 8));
    const queue = this.queue;
    const forgotten = this.series.forgetIdle(
      nowSeconds - idle,
      (id) => this.rollups.holds(id) || queue.some(({ table }) => table.rowFor(id) >= 0),
    );
    this.counters.seriesForgotten.value += forgotten;
  }

  /** Shutdown: flushes StatsD (including the interval in progress), closes every window and writes them all. */
  flushAll(): void {
    const started = performance.now();
    this.statsd.flushAll(this.addStatsdOutput);
    this.rollups.closeAll(this.queue);
    this.countQueued();
    // On shutdown there is no later flush to wait for: an overloaded sink still gets everything.
    this.writeQueue();
    this.updateGauges();
    this.counters.flushDuration.observe((performance.now() - started) / 1000);
    for (const listener of this.tickListeners) listener();
  }

  /** Starts ticking on wall-clock boundaries of the finest step, offset by the grace period. */
  start(): void {
    if (this.ticker) return;
    this.ticker = new FlushTicker(
      this.resolutions[0]!.step,
      this.options.graceSeconds,
      (now) => this.tick(now),
      this.clock,
      this.scheduler,
    );
    this.ticker.start();
  }

  stop(): void {
    this.ticker?.stop();
    this.ticker = undefined;
  }

  pending(name: string, resolution: Resolution, from: number, until: number): StatPoint[] {
    const id = this.series.find(name);
    if (id === undefined) return [];
    const points: StatPoint[] = [];
    for (const { resolution: r, table, amend } of this.queue) {
      // An amend holds only the late points, to be merged into the stored window: not a window to read.
      if (amend !== undefined || r.index !== resolution.index || table.start < from || table.start >= until) continue;
      const point: StatPoint = { time: 0, min: 0, max: 0, sum: 0, first: 0, last: 0, count: 0 };
      if (table.read(id, point)) points.push(point);
    }
    points.push(...this.rollups.openPointsOf(id, resolution, from, until));
    // Reads need the values only.
    for (const point of points) {
      delete point.firstTime;
      delete point.lastTime;
    }
    return points;
  }

  /**
   * Whether a point of `name` would be taken: its series is known or fits in max_series_bytes. Ingest asks first,
   * so a line refused for the budget is counted as refused, not accepted.
   */
  admits(name: string): boolean {
    return this.series.admits(name);
  }

  /** Whether the series `name` is held now. */
  knows(name: string): boolean {
    return this.series.find(name) !== undefined;
  }

  /** Estimated bytes of the series names held. */
  get seriesBytes(): number {
    return this.series.bytes;
  }

  /** Every series name held (Graphite names and StatsD output names), idle ones forgotten. */
  seriesNames(): IterableIterator<string> {
    return this.series.allNames();
  }

  get seriesCount(): number {
    return this.series.size;
  }

  /** Calls `listener` with each series name the first time it is seen; returns the function that removes it. */
  onNewSeries(listener: NewSeriesListener): () => void {
    return this.series.onNewSeries(listener);
  }

  /** Points in closed windows not yet handed to the sink. */
  get pendingPoints(): number {
    return this.queuedPoints;
  }

  private nowSeconds(): number {
    return Math.floor(this.clock.now() / 1000);
  }

  /** `knownId`: the series' id when the caller has it (knownSeries), else -1 and it is found by name. */
  private addGraphiteAt(sample: GraphiteSample, nowSeconds: number, knownId = -1): boolean {
    if (sample.timestamp > nowSeconds + this.options.maxFutureSeconds) {
      (this.replayAt ? this.counters.replayRefused.refusedThen : this.counters.futurePoints).value++;
      return false;
    }
    if (sample.timestamp < this.acceptFrom) {
      if (this.replayAt) return this.replayLate(sample, this.replayAt);
      if (sample.timestamp < this.amendFrom(nowSeconds)) {
        this.counters.tooOldPoints.value++;
        return false;
      }
      this.rollups.amend(this.seriesId(sample.name, knownId), sample.value, sample.timestamp);
      this.counters.amendedPoints.value++;
      return true;
    }
    const id = this.seriesId(sample.name, knownId);
    if (id < 0) {
      this.counters.budgetRefused.value++;
      return false;
    }
    this.rollups.add(id, sample.value, sample.timestamp);
    this.counters.graphitePoints.value++;
    return true;
  }

  /** The id of the series `name`, registering it; or `knownId`, marked as seen, when the caller gave it. */
  private seriesId(name: string, knownId: number): number {
    if (knownId < 0) return this.series.idOf(name);
    this.series.touch(knownId);
    return knownId;
  }

  /**
   * A replayed Graphite point older than the windows the replay accepts on time. Was it an amend when received
   * (older than the oldest window then open, not past max_lateness), it is done again unless it is known stored:
   * into the rebuilt window when its window is at or past the floor (the rebuild is written over the store, so
   * with it the window is whole, and without it the amend is lost even when it was stored), or as an amend merged
   * into the store when its window is older and the amend mark says it was not stored yet. Anything else was
   * refused then, or its window (and any amend of it) is stored: refused again and counted.
   */
  private replayLate(sample: GraphiteSample, at: ReplayMoment): boolean {
    const time = sample.timestamp;
    const wasAmend = time < at.acceptFrom && time >= this.amendFrom(at.nowSeconds);
    if (wasAmend) {
      const floor = at.floor ?? 0;
      const rebuilt = time >= floor && time >= this.rollups.acceptFrom;
      const unstored = time < floor && at.amendsStored === false;
      if (rebuilt || unstored) {
        const id = this.series.idOf(sample.name);
        if (id < 0) {
          this.counters.budgetRefused.value++;
          return false;
        }
        if (rebuilt) this.rollups.add(id, sample.value, time);
        else this.rollups.amend(id, sample.value, time);
        this.counters.amendedPoints.value++;
        return true;
      }
    }
    this.replayRefusal(time).value++;
    return false;
  }

  /** Why a replayed point stamped `time` is refused: written before the restart, or refused when received. */
  private replayRefusal(time: number): CounterChild {
    return time < this.rollups.acceptFrom
      ? this.counters.replayRefused.written
      : this.counters.replayRefused.refusedThen;
  }

  /** StatsD output for the interval starting at `time` enters the finest window `time`. */
  private readonly addStatsdOutput = (name: string, value: number, time: number): void => {
    const id = this.series.idOf(name);
    if (id < 0) this.counters.budgetRefused.value++;
    else if (this.rollups.add(id, value, time)) this.counters.statsdPoints.value++;
    else this.counters.latePoints.value++;
  };

  /** Recounts queued points after windows were appended to the queue. */
  private countQueued(): void {
    let points = 0;
    for (const { table } of this.queue) points += table.rows;
    this.queuedPoints = points;
  }

  private writeQueue(): void {
    const queue = this.queue;
    this.queue = [];
    this.queuedPoints = 0;
    const nameOf = (id: number): string => this.series.nameOf(id);
    const refuse = (): void => {
      this.counters.nonFinitePoints.value++;
    };
    for (const { resolution, table, amend } of queue) {
      if (table.rows === 0) continue;
      const batch = table.toBatch(resolution, nameOf, refuse);
      if (amend !== undefined) batch.amend = amend;
      if (batch.names.length > 0) this.sink.write(batch);
    }
    this.counters.flushes.value++;
  }

  /** Past maxPendingPoints, drops the oldest closed windows, counting windows and points exactly. */
  private dropPastLimit(): void {
    let dropped = 0;
    while (this.queuedPoints > this.options.maxPendingPoints && dropped < this.queue.length) {
      const window = this.queue[dropped++]!;
      this.queuedPoints -= window.table.rows;
      this.counters.windowsDropped.value++;
      this.counters.pointsDropped.value += window.table.rows;
    }
    if (dropped > 0) {
      this.logger?.warn(
        { windows: dropped, pendingPoints: this.queuedPoints },
        'pending windows past max_pending_points: oldest dropped',
      );
      this.queue.splice(0, dropped);
    }
  }

  private updateGauges(): void {
    this.counters.series.set(this.series.size);
    this.counters.seriesBytes.set(this.series.bytes);
    this.counters.pendingPoints.set(this.queuedPoints);
    this.counters.openPoints.set(this.rollups.openPoints() + this.rollups.amendPoints());
    const drops = this.statsd.counts.valuesDropped;
    this.counters.statsdValuesDropped.inc(drops - this.statsdDropsSeen);
    this.statsdDropsSeen = drops;
    const disowned = this.statsd.counts.keysDisowned;
    this.counters.statsdKeysDisowned.inc(disowned - this.statsdDisownedSeen);
    this.statsdDisownedSeen = disowned;
  }
}
