/**
 * One relay ingest: its identity (kept in its spool directory when there is one), the links following the ring
 * schedule, the line router and the listeners feeding it. The single-thread relay runs one on its main thread;
 * with `relay.workers` > 1 each ingest worker thread (ingest-worker.ts) runs one under its own identity, so no
 * two threads ever share a (relay, sequence) space.
 */
import type { Logger, MetricsRegistry } from '@carillon/core';
import { startIngestListeners, type IngestPorts, type Listener } from '@carillon/protocols';
import { Placement, type RingSchedule } from '@carillon/ring';
import { newRelayIdentity, type AccumulatorLinkOptions, type LinkDepth, type RelayIdentity } from '@carillon/transport';
import type { RelayConfig } from './config.js';
import { LineRouter } from './line-router.js';
import { LinkPool } from './link-pool.js';
import { SpoolStage } from './spool-stage.js';
import { firstSequence, RelaySpool, replaySpool, spoolRelayIdentity, type SpoolOptions } from './spool/index.js';

export interface RelayPorts extends IngestPorts {
  http?: number;
}

/** The link options toward the accumulators: the config's, with the cluster token and this thread's TLS. */
export function linkOptionsOf(
  config: RelayConfig,
  credentials: NonNullable<AccumulatorLinkOptions['security']>['credentials'],
): AccumulatorLinkOptions {
  return {
    ...config.link,
    security: {
      token: config.cluster.token,
      credentials,
      serverName: config.cluster.tls?.serverName || undefined,
    },
  };
}

export class RelayIngest {
  private listeners: Listener[] = [];
  private routerOf: LineRouter | undefined;
  private schedule: () => RingSchedule;

  private constructor(
    readonly identity: RelayIdentity,
    private readonly config: RelayConfig,
    private readonly pool: LinkPool,
    private readonly spooled: ReturnType<typeof RelaySpool.open> | undefined,
    private readonly metrics: MetricsRegistry,
    private readonly logger: Logger,
    initial: RingSchedule,
  ) {
    this.schedule = () => initial;
  }

  /** The identity, the spool read back (not replayed yet) and the links of `schedule`; nothing listens yet. */
  static open(
    config: RelayConfig,
    spool: SpoolOptions,
    link: AccumulatorLinkOptions,
    schedule: () => RingSchedule,
    metrics: MetricsRegistry,
    logger: Logger,
  ): RelayIngest {
    const spooled = spool.dir === '' ? undefined : RelaySpool.open(spool, metrics);
    // With a spool the identity outlives the process: rebuilt batches keep their (relay, sequence).
    const identity = spooled ? spoolRelayIdentity(spool.dir) : newRelayIdentity();
    const highest = spooled?.contents.batches.reduce((max, b) => Math.max(max, b.sequence), 0) ?? 0;
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
    const ingest = new RelayIngest(identity, config, pool, spooled, metrics, logger, schedule());
    ingest.schedule = schedule;
    pool.update(schedule());
    return ingest;
  }

  get relayId(): string {
    return this.identity.id;
  }

  /** Set once listening. */
  get router(): LineRouter | undefined {
    return this.routerOf;
  }

  /** Brings the links in line with a new schedule (the placement reads the schedule itself). */
  update(schedule: RingSchedule): void {
    this.pool.update(schedule);
  }

  depths(): LinkDepth[] {
    return this.pool.depths();
  }

  /**
   * Queues what a previous run left in the spool (before any new line, in its sequence order), then binds the
   * listeners: on `ports` where given (the port another worker got for a 0), with SO_REUSEPORT when `reusePort`.
   */
  async listen(reusePort: boolean, ports: RelayPorts = {}): Promise<RelayPorts> {
    const { config, spooled, metrics, logger } = this;
    if (spooled) {
      const started = performance.now();
      const counts = replaySpool(spooled.contents, spooled.spool, (key) => this.pool.linkByKey(key), metrics);
      spooled.spool.trim();
      if (spooled.contents.slices.length > 0)
        logger.info({ ...counts, ms: Math.round(performance.now() - started) }, 'spool replayed');
    }
    const placement = Placement.of(config.ring, this.schedule);
    const router = new LineRouter(placement, this.pool, metrics, spooled && new SpoolStage(spooled.spool));
    this.routerOf = router;
    const handlers = {
      graphiteCounters: router.graphiteCounters,
      graphiteLine: router.graphiteLine,
      statsdCounters: router.statsdCounters,
      statsdLine: router.statsdLine,
    };
    const started = await startIngestListeners(config, handlers, logger, { reusePort }, ports);
    this.listeners = started.listeners;
    return started.ports;
  }

  /** Closes the listeners, then flushes the links and waits (bounded) for durable acks. */
  async stop(): Promise<void> {
    await Promise.all(this.listeners.map((listener) => listener.close()));
    await this.pool.close();
    // What is not durable stays in the spool for the next start (the links counted it as undelivered).
    this.spooled?.spool.close();
  }
}
