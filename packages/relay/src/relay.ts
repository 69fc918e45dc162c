/**
 * A running relay: membership (Redis watcher or static list) → ring schedule → link pool, listeners feeding the
 * line router, and the HTTP surface. `stop()` closes listeners, then flushes links and waits (bounded) for
 * durable acks.
 */
import type { Server } from 'node:http';
import { MetricsRegistry, type Logger } from '@carillon/core';
import { LineCounters, startLineListeners, startPickleListener, type Listener } from '@carillon/protocols';
import { Placement, createMembership, type Membership } from '@carillon/ring';
import { newRelayId } from '@carillon/transport';
import { SpoolStage } from './spool-stage.js';
import { firstSequence, RelaySpool, replaySpool, spoolRelayId } from './spool/index.js';
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
    private readonly logger: Logger,
    private readonly spool: RelaySpool | undefined,
  ) {}

  static async start(config: RelayConfig, logger: Logger, metrics = new MetricsRegistry()): Promise<Relay> {
    const { ring } = config;
    const spooled = config.spool.dir === '' ? undefined : RelaySpool.open(config.spool, metrics);
    // With a spool the id outlives the process: rebuilt batches keep their (relay, sequence).
    const relayId = spooled ? spoolRelayId(config.spool.dir) : newRelayId();
    const highest = spooled?.contents.batches.reduce((max, b) => Math.max(max, b.sequence), 0) ?? 0;
    // A static list is one version forever: its step is never used.
    const membership = createMembership(ring, { step: config.ringStepSeconds, metrics, logger });
    const pool = new LinkPool(
      relayId,
      config.link,
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
    await membership.start();
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

    const graphite = await startLineListeners(config.graphite, router.graphiteCounters, router.graphiteLine, logger);
    const statsd = await startLineListeners(config.statsd, router.statsdCounters, router.statsdLine, logger);
    const pickle = await startPickleListener(
      config.pickle,
      new LineCounters(metrics, 'pickle'),
      router.graphiteLine,
      logger,
    );
    const listeners = [graphite.tcp, graphite.udp, pickle, statsd.tcp, statsd.udp].filter((l): l is Listener => !!l);
    const ports: RelayPorts = {
      graphiteTcp: graphite.tcp?.port,
      graphiteUdp: graphite.udp?.port,
      pickleTcp: pickle?.port,
      statsdTcp: statsd.tcp?.port,
      statsdUdp: statsd.udp?.port,
    };
    let http: Server | undefined;
    if (config.http.listen) {
      const started = await startHttpServer(config.http.listen, metrics, () =>
        ringReport(relayId, membership.schedule, pool.depths()),
      );
      http = started.server;
      ports.http = started.port;
    }
    logger.info({ relayId, ports, redis: ring.redisUrl !== '' }, 'relay started');
    return new Relay(relayId, metrics, router, ports, membership, pool, listeners, http, logger, spooled?.spool);
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
    if (this.http) {
      this.http.closeAllConnections();
      await new Promise<void>((resolve) => this.http!.close(() => resolve()));
    }
    this.logger.info('relay stopped');
  }
}
