/**
 * A running relay: membership (Redis watcher or static list) → ring schedule → link pool, listeners feeding the
 * line router, and the HTTP surface (the Graphite API over the cluster, rendered in the render workers).
 * `stop()` closes listeners, then flushes links and waits (bounded) for durable acks, then stops the render workers.
 */
import type { Server } from 'node:http';
import { Health, MetricsRegistry, type Logger } from '@carillon/core';
import {
  LineCounters,
  startLineListeners,
  startPickleListener,
  withKeyRules,
  type Listener,
} from '@carillon/protocols';
import { Placement, createMembership, type Membership } from '@carillon/ring';
import { channelCredentials, newRelayIdentity } from '@carillon/transport';
import { createGraphiteApi, DEFAULT_QUERY_LIMITS, type GraphiteApi } from '@carillon/query';
import { ClusterRead, NO_PENDING } from './cluster-read.js';
import { SpoolStage } from './spool-stage.js';
import { firstSequence, RelaySpool, replaySpool, spoolRelayIdentity } from './spool/index.js';
import type { RelayConfig } from './config.js';
import { ringReport, startHttpServer, type RingReport } from './http-server.js';
import { LineRouter } from './line-router.js';
import { LinkPool } from './link-pool.js';

export interface RelayPorts {
  graphiteTcp?: number;
  graphiteUdp?: number;
  pickleTcp?: number;
  statsdTcp?: number;
  statsdUdp?: number;
  http?: number;
}

/** Bound on one read reply from an accumulator. */
const READ_REPLY_MAX_BYTES = 256 * 1024 * 1024;

export class Relay {
  private constructor(
    readonly relayId: string,
    readonly metrics: MetricsRegistry,
    readonly router: LineRouter,
    readonly ports: RelayPorts,
    private readonly membership: Membership,
    private readonly pool: LinkPool,
    private readonly listeners: Listener[],
    private readonly http: Server | undefined,
    private readonly health: Health,
    private readonly cluster: ClusterRead | undefined,
    private readonly graphiteApi: GraphiteApi | undefined,
    private readonly logger: Logger,
    private readonly closeTls: () => void,
    private readonly spool: RelaySpool | undefined,
  ) {}

  static async start(config: RelayConfig, logger: Logger, metrics = new MetricsRegistry()): Promise<Relay> {
    const { ring } = config;
    const spooled = config.spool.dir === '' ? undefined : RelaySpool.open(config.spool, metrics);
    // With a spool the identity outlives the process: rebuilt batches keep their (relay, sequence).
    const identity = spooled ? spoolRelayIdentity(config.spool.dir) : newRelayIdentity();
    const relayId = identity.id;
    const highest = spooled?.contents.batches.reduce((max, b) => Math.max(max, b.sequence), 0) ?? 0;
    const linkTls = channelCredentials(config.cluster, metrics, logger);
    const tlsClosers = [linkTls.close];
    const link = {
      ...config.link,
      security: {
        token: config.cluster.token,
        credentials: linkTls.credentials,
        serverName: config.cluster.tls?.serverName || undefined,
      },
    };
    // A static list is one version forever: its step is never used.
    const membership = createMembership(ring, { step: config.ringStepSeconds, metrics, logger });
    const pool = new LinkPool(
      identity,
      link,
      metrics,
      logger,
      spooled && { hooks: spooled.spool, firstSequence: firstSequence(Date.now(), highest) },
    );
    spooled?.spool.attach(
      () => pool.all(),
      (key) => pool.linkByKey(key),
    );
    pool.update(membership.schedule);
    membership.onChange((schedule) => {
      pool.update(schedule);
      logger.info({ versions: schedule.versions.map((v) => [v.version, v.effectiveFrom]) }, 'ring schedule changed');
    });
    // HTTP first: while start-up waits for Redis, /livez answers and /readyz says what it waits for.
    let listening = false;
    const health = new Health()
      .addReadiness('membership', () => membership.notReady())
      .addReadiness('listeners', () => (listening ? undefined : 'listeners not bound yet'));
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
        () => ringReport(relayId, membership.schedule, pool.depths()),
        config.http.security,
        (request, response) => read.serve(response, () => graphite(request, response)),
        logger,
      );
      tlsClosers.push(started.closeTls);
      http = started.server;
      ports.http = started.port;
    }
    try {
      await membership.start();
    } catch (error) {
      http?.close();
      await api?.close();
      cluster?.close();
      throw error;
    }
    if (spooled) {
      // Before any new line: what a previous run left is queued first, in its sequence order.
      const started = performance.now();
      const counts = replaySpool(spooled.contents, spooled.spool, (key) => pool.linkByKey(key), metrics);
      spooled.spool.trim();
      if (spooled.contents.slices.length > 0)
        logger.info({ ...counts, ms: Math.round(performance.now() - started) }, 'spool replayed');
    }
    const placement = Placement.of(ring, () => membership.schedule);
    const router = new LineRouter(placement, pool, metrics, spooled && new SpoolStage(spooled.spool));

    // carbon's name rules see Graphite and pickle lines before they are placed (the owner is the new name's).
    const graphiteLine = withKeyRules(config.keyRules, router.graphiteCounters, router.graphiteLine);
    const graphite = await startLineListeners(config.graphite, router.graphiteCounters, graphiteLine, logger);
    const statsd = await startLineListeners(config.statsd, router.statsdCounters, router.statsdLine, logger);
    const pickle = await startPickleListener(config.pickle, new LineCounters(metrics, 'pickle'), graphiteLine, logger);
    const listeners = [graphite.tcp, graphite.udp, pickle, statsd.tcp, statsd.udp].filter((l): l is Listener => !!l);
    Object.assign(ports, {
      graphiteTcp: graphite.tcp?.port,
      graphiteUdp: graphite.udp?.port,
      pickleTcp: pickle?.port,
      statsdTcp: statsd.tcp?.port,
      statsdUdp: statsd.udp?.port,
    });
    listening = true;
    logger.info(
      {
        relayId,
        ports,
        redis: ring.redisUrl !== '',
        clusterTls: !!config.cluster.tls,
        clusterToken: config.cluster.token !== '',
      },
      'relay started',
    );
    const closeTls = (): void => tlsClosers.forEach((close) => close());
    return new Relay(
      relayId,
      metrics,
      router,
      ports,
      membership,
      pool,
      listeners,
      http,
      health,
      cluster,
      api,
      logger,
      closeTls,
      spooled?.spool,
    );
  }

  ring(): RingReport {
    return ringReport(this.relayId, this.membership.schedule, this.pool.depths());
  }

  async stop(): Promise<void> {
    await Promise.all(this.listeners.map((listener) => listener.close()));
    await this.pool.close();
    // What is not durable stays in the spool for the next start (the links counted it as undelivered).
    this.spool?.close();
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
