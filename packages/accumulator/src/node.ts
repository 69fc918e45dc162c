/**
 * One aggregating node: store, writer sink, aggregator, series index, line ingest and the HTTP surface,
 * assembled from a NodeConfig. The accumulator feeds it from relays; the all-in-one from its own listeners.
 */
import { MetricsRegistry, type Logger, type Writer } from '@carillon/core';
import { Aggregator, type StatsdKeyOwnership } from '@carillon/aggregator';
import { SeriesIndex, createGraphiteApi, indexFinder, unionFinder } from '@carillon/query';
import { startHttpServer, type RunningHttpServer } from './http-server.js';
import { LineIngest } from './line-ingest.js';
import type { OwnershipCheck } from './ownership.js';
import { openStore, type Store } from './stores.js';
import type { NodeConfig } from './node-config.js';
import { WriterSink } from './writer-sink.js';

/** What a program built on the node adds to it. */
export interface NodeExtras {
  /** Writers beside the store (e.g. the StatPoint file). */
  writers?: Writer[];
  /**
   * Resume after a crash from this flush watermark (see Aggregator.resumeAfter) instead of the usual start-up
   * lateness bound.
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

export class AccumulatorNode {
  private stopped = false;

  private constructor(
    readonly config: NodeConfig,
    readonly registry: MetricsRegistry,
    readonly logger: Logger,
    readonly aggregator: Aggregator,
    readonly ingest: LineIngest,
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
    if (extras.resumeAfter !== undefined) aggregator.resumeAfter(extras.resumeAfter);
    aggregator.onNewSeries((name) => {
      index.add(name);
    });
    const ingest = new LineIngest(aggregator, registry, {
      ownership: extras.ownership,
      restartWatermark: extras.resumeAfter,
    });
    const graphiteApi = createGraphiteApi({
      index,
      // The store's own index, where it has one, beside the series seen here and not yet flushed.
      finder: store.finder ? unionFinder([store.finder, indexFinder(index)]) : undefined,
      reader: store,
      pending: aggregator,
      resolutions: config.aggregator.resolutions,
      aggregationRules: config.aggregationRules,
      cors: { allowedOrigins: config.http.corsAllowedOrigins },
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
    return new AccumulatorNode(config, registry, logger, aggregator, ingest, index, store, sink, http);
  }

  /** Flushes every open window, waits for the writers, then closes the store and the HTTP server. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.aggregator.stop();
    this.aggregator.flushAll();
    await this.sink.close();
    await this.http?.close();
  }
}
