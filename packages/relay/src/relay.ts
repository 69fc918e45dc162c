/**
 * A running relay: membership (Redis watcher or static list) → ring schedule → link pool, listeners feeding the
 * line router, and the HTTP surface. `stop()` closes listeners, then flushes links and waits (bounded) for
 * durable acks.
 */
import type { Server } from 'node:http';
import { MetricsRegistry, type Logger } from '@carillon/core';
import { startLineListeners, type Listener } from '@carillon/protocols';
import { RedisMembership, StaticMembership, StatsdProxyRing, type Membership } from '@carillon/ring';
import { newRelayId } from '@carillon/transport';
import type { RelayConfig } from './config.js';
import { ringReport, startHttpServer, type RingReport } from './http-server.js';
import { LineRouter } from './line-router.js';
import { LinkPool } from './link-pool.js';

export interface RelayPorts {
  graphiteTcp?: number;
  graphiteUdp?: number;
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
  ) {}

  static async start(config: RelayConfig, logger: Logger, metrics = new MetricsRegistry()): Promise<Relay> {
    const relayId = newRelayId();
    const { ring } = config;
    const membership: Membership =
      ring.redisUrl !== ''
        ? new RedisMembership({
            redisUrl: ring.redisUrl,
            prefix: ring.prefix,
            timing: {
              step: config.ringStepSeconds,
              propagationDelay: ring.propagationDelaySeconds,
              retain: ring.retainSeconds,
            },
            // A relay only watches: accumulators register and write versions.
            reconcile: false,
            pollIntervalMs: ring.pollIntervalMs,
            connectTimeoutMs: ring.timeoutMs,
            commandTimeoutMs: ring.timeoutMs,
            ring: { replicas: ring.replicas },
            metrics,
            logger,
          })
        : new StaticMembership(ring.staticMembers, { replicas: ring.replicas });
    const pool = new LinkPool(relayId, config.link, metrics, logger);
    pool.update(membership.schedule);
    membership.onChange((schedule) => {
      pool.update(schedule);
      logger.info({ versions: schedule.versions.map((v) => [v.version, v.effectiveFrom]) }, 'ring schedule changed');
    });
    await membership.start();
    const statsdProxy =
      ring.placement === 'statsd-proxy'
        ? new StatsdProxyRing(ring.staticMembers.map((member) => member.id))
        : undefined;
    const router = new LineRouter(() => membership.schedule, pool, metrics, statsdProxy);

    const graphite = await startLineListeners(config.graphite, router.graphiteCounters, router.graphiteLine, logger);
    const statsd = await startLineListeners(config.statsd, router.statsdCounters, router.statsdLine, logger);
    const listeners = [graphite.tcp, graphite.udp, statsd.tcp, statsd.udp].filter((l): l is Listener => !!l);
    const ports: RelayPorts = {
      graphiteTcp: graphite.tcp?.port,
      graphiteUdp: graphite.udp?.port,
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
    return new Relay(relayId, metrics, router, ports, membership, pool, listeners, http, logger);
  }

  ring(): RingReport {
    return ringReport(this.relayId, this.membership.schedule, this.pool.depths());
  }

  async stop(): Promise<void> {
    await Promise.all(this.listeners.map((listener) => listener.close()));
    await this.pool.close();
    await this.membership.close();
    if (this.http) {
      this.http.closeAllConnections();
      await new Promise<void>((resolve) => this.http!.close(() => resolve()));
    }
    this.logger.info('relay stopped');
  }
}
