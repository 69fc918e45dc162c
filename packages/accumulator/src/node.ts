/**
 * One aggregating node: store, writer sink, aggregator, series index, line ingest and the HTTP surface,
 * assembled from a NodeConfig. The accumulator feeds it from relays; the all-in-one from its own listeners.
 */
import { mkdirSync } from 'node:fs';
import { MetricsRegistry, windowStart, type Logger, type Writer } from '@carillon/core';
import { Aggregator, type StatsdKeyOwnership } from '@carillon/aggregator';
import { SeriesIndex, createGraphiteApi, indexFinder, unionFinder } from '@carillon/query';
import { startHttpServer, type RunningHttpServer } from './http-server.js';
import { LineIngest, type BatchOutcome } from './line-ingest.js';
import { LoggedIngest } from './logged-ingest.js';
import type { OwnershipCheck } from './ownership.js';
import { openStore, type Store } from './stores.js';
import type { NodeConfig } from './node-config.js';
import { WriterSink } from './writer-sink.js';
import { readReplayFloor, writeReplayFloor } from './wal/checkpoint.js';
import { WalMetrics } from './wal/metrics.js';
import type { WalRecord } from './wal/record.js';
import { replayWal } from './wal/replay.js';
import { listSegmentIndexes } from './wal/segments.js';
import { WalWriter } from './wal/writer.js';

/** What a program built on the node adds to it. */
export interface NodeExtras {
  /** Writers beside the store (e.g. the StatPoint file). */
  writers?: Writer[];
  /**
   * Resume after a crash from this flush watermark (see Aggregator.resumeAfter) instead of the usual start-up
   * lateness bound, when the write-ahead log does not say where to resume (none, or an empty one).
   */
  resumeAfter?: number;
  /** False: the program drives flush ticks itself (`aggregator.tick`), e.g. to act after each one. */
  startTicker?: boolean;
  /** More fields for /healthz. */
  health?: () => Record<string, unknown>;
  /** In a cluster: StatsD flushes emit only the keys this member owns for the interval (see AggregatorDeps). */
  ownsStatsdKey?: StatsdKeyOwnership;
  /** In a cluster: relay batches keep only the points this member owns (see LineIngestOptions). */
  ownership?: OwnershipCheck;
}

/** Called for each record replayed from the log, with what it did (the accumulator rebuilds its dedupe). */
export type ReplayedRecord = (record: WalRecord, outcome: BatchOutcome) => void;

/** Where the log says to resume: its replay floor (0 for a log begun before it kept one), or nothing to resume. */
function walResumePoint(dir: string): number | undefined {
  if (dir === '') return undefined;
  const floor = readReplayFloor(dir);
  if (floor !== undefined) return floor;
  return listSegmentIndexes(dir).length > 0 ? 0 : undefined;
}

export class AccumulatorNode {
  private stopped = false;
  private wal: WalWriter | undefined;
  private trimTimer: NodeJS.Timeout | undefined;
  private trimming = false;

  private constructor(
    readonly config: NodeConfig,
    readonly registry: MetricsRegistry,
    readonly logger: Logger,
    readonly aggregator: Aggregator,
    readonly ingest: LineIngest,
    /** The ingest every line goes through: logged first when the write-ahead log is on. */
    readonly logged: LoggedIngest,
    /** Where the aggregator resumed from after a restart (undefined: a fresh start). */
    readonly resumedFrom: number | undefined,
    readonly index: SeriesIndex,
    readonly store: Store,
    readonly sink: WriterSink,
    readonly http: RunningHttpServer | undefined,
  ) {}

  static async start(
    config: NodeConfig,
    logger: Logger,
    registry = new MetricsRegistry(),
    extras: NodeExtras = {},
  ): Promise<AccumulatorNode> {
    const index = new SeriesIndex({ maxSeries: config.index.maxSeries, metrics: registry });
    const store = await openStore(config, registry, logger, index);
    const writers = [store, ...(extras.writers ?? [])];
    const sink = new WriterSink(writers, config.writers, registry, logger);
    const aggregator = new Aggregator(config.aggregator, config.statsd, {
      sink,
      metrics: registry,
      logger,
      ownsStatsdKey: extras.ownsStatsdKey,
    });
    // With a log, every window from its floor on is rebuilt by replaying it, so that is where to resume.
    const resumedFrom = walResumePoint(config.wal.dir) ?? extras.resumeAfter;
    if (resumedFrom !== undefined) aggregator.resumeAfter(resumedFrom);
    aggregator.onNewSeries((name) => {
      index.add(name);
    });
    const ingest = new LineIngest(aggregator, registry, {
      ownership: extras.ownership,
      restartWatermark: resumedFrom,
    });
    const logged = new LoggedIngest(ingest, aggregator, undefined);
    const graphiteApi = createGraphiteApi({
      index,
      // The store's own index, where it has one, beside the series seen here and not yet flushed.
      finder: store.finder ? unionFinder([store.finder, indexFinder(index)]) : undefined,
      reader: store,
      pending: aggregator,
      resolutions: config.aggregator.resolutions,
      aggregationRules: config.aggregationRules,
      logger,
    });
    const http = config.http.listen
      ? await startHttpServer(
          {
            listen: config.http.listen,
            maxBodyBytes: config.http.maxBodyBytes,
            requestTimeoutMs: config.http.requestTimeoutMs,
          },
          {
            registry,
            ingest,
            graphiteApi,
            logger,
            health: () => ({
              series: aggregator.seriesCount,
              pendingPoints: aggregator.pendingPoints,
              store: config.store,
              ...extras.health?.(),
            }),
          },
        )
      : undefined;
    if (extras.startTicker ?? true) aggregator.start();
    if (http) logger.info({ port: http.port }, 'HTTP listening (Graphite API, /metrics, /healthz, POST /lines)');
    return new AccumulatorNode(
      config,
      registry,
      logger,
      aggregator,
      ingest,
      logged,
      resumedFrom,
      index,
      store,
      sink,
      http,
    );
  }

  /**
   * Replays the write-ahead log (what a crash left) into the aggregator, then opens it for appending. Call once,
   * before any line arrives (listeners, ingest server). Does nothing when the log is off.
   */
  replayLog(onRecord?: ReplayedRecord): void {
    const { dir, segmentBytes, maxBytes, syncIntervalMs } = this.config.wal;
    if (dir === '' || this.wal !== undefined) return;
    const metrics = new WalMetrics(this.registry, () => ({
      bytes: this.wal?.bytes ?? 0,
      segments: (this.wal?.segmentCount ?? 0) + (this.wal ? 1 : 0),
    }));
    const started = performance.now();
    const segments = replayWal(
      dir,
      (record) => {
        const { outcome, coarseEnd } = this.logged.replay(record);
        onRecord?.(record, outcome);
        return coarseEnd;
      },
      metrics,
    );
    const { resolutions, graceSeconds } = this.config.aggregator;
    const coarsestStep = resolutions[resolutions.length - 1]!.step;
    let floor = readReplayFloor(dir);
    if (floor === undefined) {
      // A new log covers nothing before now.
      floor = this.resumedFrom ?? windowStart(this.aggregator.now - graceSeconds, coarsestStep);
      mkdirSync(dir, { recursive: true });
      writeReplayFloor(dir, floor);
    }
    this.wal = new WalWriter({ dir, segmentBytes, maxBytes, syncIntervalMs }, segments, floor, metrics);
    this.logged.attach(this.wal);
    if (segments.length > 0)
      this.logger.info(
        {
          segments: segments.length,
          records: metrics.replayedRecords.value,
          replayFrom: floor,
          ms: Math.round(performance.now() - started),
        },
        'write-ahead log replayed',
      );
    const stepMs = resolutions[0]!.step * 1000;
    this.trimTimer = setInterval(() => void this.trimLog(), stepMs);
    this.trimTimer.unref();
  }

  /**
   * End of the coarsest windows handed to the writers, stopped before the oldest window a writer still has to
   * retry at any resolution: the log must keep every line of a window not yet stored.
   */
  private coarsestHandedThrough(): number {
    const { resolutions } = this.config.aggregator;
    const coarsestStep = resolutions[resolutions.length - 1]!.step;
    let through = Infinity;
    for (const resolution of resolutions) {
      through = Math.min(through, this.aggregator.handedThroughAt(resolution));
      const unstored = this.sink.unstoredSince(resolution.step);
      if (unstored !== Infinity) through = Math.min(through, unstored);
    }
    return windowStart(through, coarsestStep);
  }

  /** Deletes the segments every window of which is written at every resolution. */
  private async trimLog(): Promise<void> {
    const wal = this.wal;
    if (wal === undefined || this.trimming) return;
    this.trimming = true;
    try {
      const through = this.coarsestHandedThrough();
      // The barrier covers what was handed over by now: once it resolves those windows are written (or queued).
      await this.sink.barrier();
      wal.trim(Math.min(through, this.coarsestHandedThrough()));
    } catch (error) {
      this.logger.error({ err: error }, 'write-ahead log trim failed');
    } finally {
      this.trimming = false;
    }
  }

  /** Flushes every open window, waits for the writers, then closes the store and the HTTP server. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.aggregator.stop();
    this.logged.flushStaged();
    this.aggregator.flushAll();
    await this.sink.close();
    if (this.trimTimer !== undefined) clearInterval(this.trimTimer);
    // Everything is written now (what a writer still failed stays unstored and keeps its segments).
    if (this.wal !== undefined) {
      this.wal.trim(this.coarsestHandedThrough());
      this.wal.close();
    }
    await this.http?.close();
  }
}
