/**
 * One aggregating node: store, writer sink, aggregator, series index, line ingest and the HTTP surface,
 * assembled from a NodeConfig. The accumulator feeds it from relays; the all-in-one from its own listeners.
 */
import { dirname } from 'node:path';
import {
  Health,
  MetricsRegistry,
  windowStart,
  type HealthCheck,
  type LogPosition,
  type Logger,
  type PendingSource,
  type Writer,
} from '@carillon/core';
import { Aggregator, type StatsdKeyOwnership } from '@carillon/aggregator';
import { SeriesIndex, createGraphiteApi, type GraphiteApi } from '@carillon/query';
import { startHttpServer, type RunningHttpServer } from './http-server.js';
import { LineIngest } from './line-ingest.js';
import { LoggedIngest } from './logged-ingest.js';
import type { OwnershipCheck } from './ownership.js';
import { openStore, type Store } from './stores.js';
import type { NodeConfig } from './node-config.js';
import { TagDbRegistrar } from './tagdb-registrar.js';
import type { QuerySources } from './query-handler.js';
import { WriterSink } from './writer-sink.js';
import type { WalWriter } from './wal/writer.js';
import { isBefore, writeAmendMark } from './wal/amend-mark.js';
import { openWal, walStart, type ReplayedRecord } from './wal-startup.js';

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
  /** More readiness checks (membership, listeners), by name. */
  readiness?: Record<string, HealthCheck>;
  /** Files the program keeps state in (the flush watermark): their directories must take writes to be ready. */
  stateFiles?: string[];
  /** In a cluster: StatsD flushes emit only the keys this member owns for the interval (see AggregatorDeps). */
  ownsStatsdKey?: StatsdKeyOwnership;
  /** In a cluster: relay batches keep only the points this member owns (see LineIngestOptions). */
  ownership?: OwnershipCheck;
  /** Hears each record replayed from the write-ahead log at start (the accumulator rebuilds its dedupe). */
  onReplayed?: ReplayedRecord;
  /** Brings counters kept on other threads (listener threads) into the registry before /metrics renders. */
  collectMetrics?: () => Promise<void>;
}

export class AccumulatorNode {
  private stopped = false;
  private trimTimer: NodeJS.Timeout | undefined;
  private trimming = false;
  /** Set before a shutdown closes windows early: the log then keeps their lines (see sealLog). */
  private sealed = false;
  /** The chain of amend mark updates (wal/amend-mark.ts): one at a time, in tick order. */
  private marking: Promise<void> = Promise.resolve();
  /** The mark last written (undefined: none by this process). */
  private marked: LogPosition | undefined;
  private readonly markErrors;

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
    /** What the node's Graphite API reads: a cluster front asks the same over the Query service. */
    readonly querySources: QuerySources,
    private readonly wal: WalWriter | undefined,
    /** Liveness and readiness (/livez, /readyz); a program adds its own checks. */
    readonly health: Health,
    private readonly graphiteApi: GraphiteApi,
  ) {
    this.markErrors = registry
      .counter(
        'accumulator_wal_amend_mark_errors_total',
        'Failed writes of the amend mark: a crash before the next one merges the amends since the last one twice',
      )
      .labels();
    if (wal !== undefined) {
      this.trimTimer = setInterval(() => void this.trimLog(), config.aggregator.resolutions[0]!.step * 1000);
      this.trimTimer.unref();
      aggregator.onTick(() => this.markAmends(wal));
    }
  }

  /**
   * After a flush tick, which handed every amend taken so far to the writers (unless the sink was overloaded):
   * once they are stored, the amend mark moves to the log position at the tick, so a replay does not merge them
   * again. Written as soon as the writes end; a kill between the two merges them twice (docs/ARCHITECTURE.md).
   */
  private markAmends(wal: WalWriter): void {
    if (this.aggregator.holdsAmends) return;
    const position = wal.position;
    if (this.marked !== undefined && !isBefore(this.marked, position)) return;
    const written = this.sink.barrier();
    this.marking = this.marking.then(async () => {
      await written;
      if (this.sink.holdsUnstoredAmends()) return;
      try {
        writeAmendMark(this.config.wal.dir, position);
        this.marked = position;
      } catch (error) {
        this.markErrors.value++;
        this.logger.error({ err: error }, 'could not write the amend mark');
      }
    });
  }

  static async start(
    config: NodeConfig,
    logger: Logger,
    registry = new MetricsRegistry(),
    extras: NodeExtras = {},
  ): Promise<AccumulatorNode> {
    const index = new SeriesIndex({
      maxSeries: config.index.maxSeries,
      maxBytes: config.index.maxBytes,
      metrics: registry,
    });
    const store = await openStore(config, registry, logger, index);
    const tagdb = config.tagdb.url === '' ? [] : [new TagDbRegistrar(config.tagdb, registry, logger)];
    // The catalogue's writers queue every batch and return at once: acks wait for the store only (README).
    const outputs = await Promise.all(
      config.outputs.map((output) =>
        output.open({
          registry,
          logger,
          resolutions: config.aggregator.resolutions,
          aggregationRules: config.aggregationRules,
        }),
      ),
    );
    const writers = [store, ...tagdb, ...(extras.writers ?? []), ...outputs];
    const sink = new WriterSink(writers, config.writers, registry, logger);
    const aggregator = new Aggregator(config.aggregator, config.statsd, {
      sink,
      metrics: registry,
      logger,
      ownsStatsdKey: extras.ownsStatsdKey,
    });
    // With a log, every window from its floor on is rebuilt by replaying it, so that is where to resume.
    const logStart = walStart(config, aggregator.now);
    const resumedFrom = logStart?.resumeFrom ?? extras.resumeAfter;
    if (resumedFrom !== undefined) aggregator.resumeAfter(resumedFrom);
    aggregator.onNewSeries((name) => {
      index.add(name);
    });
    const ingest = new LineIngest(aggregator, registry, {
      ownership: extras.ownership,
      restartWatermark: resumedFrom,
      refuseBeforeRestart: logStart === undefined,
      names: config.names,
      storable: store.storable?.bind(store),
    });
    const logged = new LoggedIngest(ingest, aggregator, undefined);
    // What a crash left in the log is aggregated again before any line can arrive (HTTP, listeners, relays).
    const wal = openWal(config, logged, logStart, resumedFrom, aggregator.now, registry, logger, extras.onReplayed);
    const health = new Health();
    health.addLiveness('store', () => store.notLive?.());
    health.addReadiness('writers', () => sink.notReady());
    const stateDirs = new Set<string>(extras.stateFiles?.filter((f) => f !== '').map((f) => dirname(f)));
    if (config.store === 'whisper') stateDirs.add(config.whisper.dataDir);
    if (config.wal.dir !== '') stateDirs.add(config.wal.dir);
    for (const dir of stateDirs) health.addWritableDirectory(`state_dir:${dir}`, dir);
    for (const [name, check] of Object.entries(extras.readiness ?? {})) health.addReadiness(name, check);
    // Windows not stored yet: open or queued in the aggregator, or handed to the store and not written yet.
    const pending: PendingSource = {
      pending: (name, resolution, from, until) => {
        const held = sink.pending(name, resolution, from, until);
        const own = aggregator.pending(name, resolution, from, until);
        return held.length === 0 ? own : [...own, ...held];
      },
    };
    const graphiteApi = createGraphiteApi({
      // The store's own index, where it has one, beside the series seen here and not yet flushed.
      index,
      storeFinder: store.finder,
      reader: store,
      workerReader: store.workerReader?.(),
      pending,
      resolutions: config.aggregator.resolutions,
      aggregationRules: config.aggregationRules,
      retentionRules: config.retentionRules,
      cors: { allowedOrigins: config.http.corsAllowedOrigins },
      logger,
      render: config.query.render,
      limits: { maxRenderBytes: config.query.maxRenderBytes, maxSeriesPerRender: config.query.maxSeriesPerRender },
      metrics: registry,
    });
    const querySources: QuerySources = {
      // the API's finder tests globs and regexes in its match workers, off this thread
      finder: graphiteApi.finder,
      reader: store,
      pending,
      resolutions: config.aggregator.resolutions,
      aggregationRules: config.aggregationRules,
      // a cluster Fetch reads in the render workers too, where they read the store themselves
      fetchMany: graphiteApi.fetchMany,
    };
    const http = config.http.listen
      ? await startHttpServer(
          {
            listen: config.http.listen,
            maxBodyBytes: config.http.maxBodyBytes,
            requestTimeoutMs: config.http.requestTimeoutMs,
            security: config.http.security,
            headersTimeoutMs: config.http.headersTimeoutMs,
            maxConnections: config.http.maxConnections,
          },
          {
            registry,
            collectMetrics: extras.collectMetrics,
            ingest: logged,
            graphiteApi,
            logger,
            health,
            details: () => ({
              series: aggregator.seriesCount,
              seriesBytes: aggregator.seriesBytes,
              indexBytes: index.bytes,
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
      querySources,
      wal,
      health,
      graphiteApi,
    );
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

  /**
   * Stops trimming the log, before a shutdown writes the windows still open. Those are complete only so far:
   * their lines stay in the log, so the next start replays them and keeps filling the same windows, instead of
   * writing the rest of each over what was written at shutdown.
   */
  sealLog(): void {
    this.sealed = true;
    if (this.trimTimer !== undefined) clearInterval(this.trimTimer);
    this.trimTimer = undefined;
  }

  /** Deletes the segments every window of which is written at every resolution. */
  private async trimLog(): Promise<void> {
    const wal = this.wal;
    if (wal === undefined || this.trimming || this.sealed) return;
    this.trimming = true;
    try {
      const through = this.coarsestHandedThrough();
      // The barrier covers what was handed over by now: once it resolves those windows are written (or queued).
      await this.sink.barrier();
      if (!this.sealed) wal.trim(Math.min(through, this.coarsestHandedThrough()));
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
    this.sealLog();
    this.aggregator.flushAll();
    await this.sink.close();
    await this.marking;
    this.wal?.close();
    this.health.close();
    await this.http?.close();
    await this.graphiteApi.close();
  }
}
