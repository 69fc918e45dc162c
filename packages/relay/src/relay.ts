/**
 * A running relay: membership (Redis watcher or static list) → ring schedule → the ingest (links, line router,
 * listeners) and the HTTP surface. With `relay.workers` = 1 the ingest runs on this thread; with more, each
 * ingest worker thread runs one on the shared listener ports (ingest-workers.ts) and this thread keeps membership
 * and the HTTP surface (the Graphite API over the cluster, rendered in the render workers), sending every
 * schedule change and serving the workers' metrics merged. `stop()` closes listeners, then flushes links and
 * waits (bounded) for durable acks, then stops the render workers.
 */
import type { Server } from 'node:http';
import { Health, MetricsRegistry, type Logger } from '@carillon/core';
import { createMembership, type Membership } from '@carillon/ring';
import { channelCredentials } from '@carillon/transport';
import { createGraphiteApi, DEFAULT_QUERY_LIMITS, type GraphiteApi } from '@carillon/query';
import { ClusterRead, NO_PENDING } from './cluster-read.js';
import type { RelayConfig } from './config.js';
import { ringReport, startHttpServer, type RingReport } from './http-server.js';
import { linkOptionsOf, RelayIngest, type RelayPorts } from './ingest.js';
import { IngestWorkers, spooledWorkers } from './ingest-workers.js';
import type { LineRouter } from './line-router.js';

export type { RelayPorts } from './ingest.js';

/** Bound on one read reply from an accumulator. */
const READ_REPLY_MAX_BYTES = 256 * 1024 * 1024;

export class Relay {
  private constructor(
    /** The relay's identity; with workers, the first worker's (each sends under its own: `relayIds`). */
    readonly relayId: string,
    readonly relayIds: readonly string[],
    readonly metrics: MetricsRegistry,
    /** The line router of the single-thread relay (undefined with workers: each has its own). */
    readonly router: LineRouter | undefined,
    readonly ports: RelayPorts,
    private readonly membership: Membership,
    private readonly ingest: RelayIngest | IngestWorkers,
    private readonly http: Server | undefined,
    private readonly health: Health,
    private readonly cluster: ClusterRead | undefined,
    private readonly graphiteApi: GraphiteApi | undefined,
    private readonly logger: Logger,
    private readonly closeTls: () => void,
  ) {}

  static async start(configured: RelayConfig, logger: Logger, metrics = new MetricsRegistry()): Promise<Relay> {
    const { ring } = configured;
    // Never fewer threads than an earlier run left worker spools for: what they hold is replayed, not orphaned.
    const spooled = spooledWorkers(configured.spool);
    if (spooled > configured.workers)
      logger.warn(
        { workers: configured.workers, spooled },
        'the spool holds worker spools of an earlier run with more ingest threads: running that many to replay them',
      );
    const config = { ...configured, workers: Math.max(configured.workers, spooled) };
    const threaded = config.workers > 1;
    const linkTls = channelCredentials(config.cluster, metrics, logger);
    const tlsClosers = [linkTls.close];
    const link = linkOptionsOf(config, linkTls.credentials);
    // A static list is one version forever: its step is never used.
    const membership = createMembership(ring, { step: config.ringStepSeconds, metrics, logger });
    const local = threaded
      ? undefined
      : RelayIngest.open(config, config.spool, link, () => membership.schedule, metrics, logger);
    let workers: IngestWorkers | undefined;
    membership.onChange((schedule) => {
      local?.update(schedule);
      workers?.update(schedule);
      logger.info({ versions: schedule.versions.map((v) => [v.version, v.effectiveFrom]) }, 'ring schedule changed');
    });
    const relayId = (): string => local?.relayId ?? workers?.relayIds[0] ?? '';
    const depths = (): RingReport['destinations'] => local?.depths() ?? workers?.depths() ?? [];
    // HTTP first: while start-up waits for Redis, /livez answers and /readyz says what it waits for.
    let listening = false;
    const health = new Health()
      .addReadiness('membership', () => membership.notReady())
      .addReadiness('listeners', () => (listening ? workers?.notReady() : 'listeners not bound yet'));
    const ports: RelayPorts = {};
    let http: Server | undefined;
    let cluster: ClusterRead | undefined;
    let api: GraphiteApi | undefined;
    if (config.http.listen) {
      const { query } = config;
      cluster = new ClusterRead(
        () => membership.schedule,
        {
          timeoutMs: query.timeoutMs,
          allowPartial: query.allowPartial,
          concurrency: query.concurrency,
          maxQueued: query.maxQueued,
          maxSeriesPerRequest: query.maxSeriesPerRequest,
          sharedStore: query.sharedStore,
          // Replies carry up to query.max_series_per_request series of a render's windows.
          maxMessageBytes: READ_REPLY_MAX_BYTES,
          maxTagSeries: DEFAULT_QUERY_LIMITS.maxTagSeries,
          security: link.security,
        },
        metrics,
        logger,
      );
      const read = cluster;
      membership.onChange(() => read.prune());
      // Renders run in the render workers, as on an accumulator: the functions, consolidation and encoding never
      // hold the listeners or /healthz. The reads come back here (ClusterRead has no worker reader: its gRPC
      // clients live on this thread) and the values cross to the worker as Float64Arrays.
      const graphite = createGraphiteApi({
        finder: read,
        reader: read,
        pending: NO_PENDING,
        resolutions: config.resolutions,
        retentionRules: config.retentionRules,
        render: query.render,
        limits: {
          maxRenderBytes: query.maxRenderBytes,
          maxSeriesPerRender: query.maxSeriesPerRender,
          // ClusterRead bounds the calls itself (per member, in calls of query.max_series_per_request series): a
          // render's reads start together so each owner gets one call instead of one per 32 series.
          fetchConcurrency: query.maxSeriesPerRequest,
        },
        logger,
        metrics,
      });
      api = graphite;
      const started = await startHttpServer(
        config.http,
        metrics,
        health,
        () => ringReport(relayId(), membership.schedule, depths(), workers?.workerDepths()),
        config.http.security,
        (request, response) => read.serve(response, () => graphite(request, response)),
        logger,
        threaded ? () => workers?.collect() ?? Promise.resolve() : undefined,
      );
      tlsClosers.push(started.closeTls);
      http = started.server;
      ports.http = started.port;
    }
    const closeTls = (): void => tlsClosers.forEach((close) => close());
    try {
      await membership.start();
      if (local) Object.assign(ports, await local.listen(false));
      else {
        workers = await IngestWorkers.start(config, membership.schedule, metrics, logger);
        // A change while they started reached none of them.
        workers.update(membership.schedule);
        Object.assign(ports, workers.ports);
      }
    } catch (error) {
      http?.close();
      await api?.close();
      cluster?.close();
      await local?.stop();
      await membership.close();
      closeTls();
      throw error;
    }
    listening = true;
    const ingest = (local ?? workers)!;
    logger.info(
      {
        relayId: relayId(),
        workers: workers?.relayIds.length ?? 1,
        ports,
        redis: ring.redisUrl !== '',
        clusterTls: !!config.cluster.tls,
        clusterToken: config.cluster.token !== '',
      },
      'relay started',
    );
    return new Relay(
      relayId(),
      local ? [local.relayId] : workers!.relayIds,
      metrics,
      local?.router,
      ports,
      membership,
      ingest,
      http,
      health,
      cluster,
      api,
      logger,
      closeTls,
    );
  }

  ring(): RingReport {
    const workers = this.ingest instanceof IngestWorkers ? this.ingest.workerDepths() : undefined;
    return ringReport(this.relayId, this.membership.schedule, this.ingest.depths(), workers);
  }

  /** Brings `metrics` up to date with the ingest workers' counters (nothing to do on one thread). */
  async collectMetrics(): Promise<void> {
    if (this.ingest instanceof IngestWorkers) await this.ingest.collect();
  }

  async stop(): Promise<void> {
    // Listeners close first, then links flush and wait (bounded) for durable acks; what is not durable stays in
    // the spool for the next start (the links counted it as undelivered).
    await this.ingest.stop();
    await this.membership.close();
    this.health.close();
    if (this.http) {
      this.http.closeAllConnections();
      await new Promise<void>((resolve) => this.http!.close(() => resolve()));
    }
    // after the HTTP server: no render is left to answer, and each worker is terminated
    await this.graphiteApi?.close();
    this.closeTls();
    this.cluster?.close();
    this.logger.info('relay stopped');
  }
}
