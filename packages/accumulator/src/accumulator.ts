/**
 * The accumulator: relays' batches arrive over gRPC, points this member owns (by the ring version of their
 * window) are aggregated, flushed windows go to the writers, and the Graphite API answers for what it owns.
 * Registers in the ring (Redis) or takes a static member list. `stop()` leaves the ring at the next boundary,
 * keeps serving the windows still owned until they are flushed, then flushes everything and closes.
 */
import { MetricsRegistry, nowSeconds, type Logger } from '@carillon/core';
import {
  Placement,
  RedisMembership,
  createMembership,
  ringStepOf,
  type Membership,
  type RingSchedule,
  type RingVersion,
} from '@carillon/ring';
import { startIngestServer, type IngestServer } from '@carillon/transport';
import type { AccumulatorConfig } from './accumulator-config.js';
import { BatchHandler } from './batch-handler.js';
import { DurabilityTracker } from './durability.js';
import { FlushCycle } from './flush-cycle.js';
import { AccumulatorNode } from './node.js';
import { RingOwnership } from './ownership.js';
import { StatPointFileWriter } from './statpoint-file-writer.js';
import { readWatermark } from './watermark-file.js';

/** The watermark to resume from, or undefined for a fresh start (none, or older than the relays still hold). */
async function resumePoint(config: AccumulatorConfig, logger: Logger): Promise<number | undefined> {
  if (config.durability.watermarkFile === '') return undefined;
  const watermark = await readWatermark(config.durability.watermarkFile);
  if (watermark === undefined) return undefined;
  const now = nowSeconds();
  if (watermark < now - config.durability.maxResumeAgeSeconds) {
    logger.warn({ watermark, now }, 'flush watermark older than durability.max_resume_age: starting afresh');
    return undefined;
  }
  return Math.min(watermark, now);
}

export class Accumulator {
  private stopping: Promise<void> | undefined;
  /** Replaced at leave time by the schedule that contains this member's leave version. */
  private schedule: () => RingSchedule;
  private leaving: RingVersion | undefined;

  private constructor(
    private readonly config: AccumulatorConfig,
    private readonly logger: Logger,
    readonly registry: MetricsRegistry,
    private readonly membership: Membership,
    readonly node: AccumulatorNode,
    private readonly cycle: FlushCycle,
    private readonly server: IngestServer,
  ) {
    this.schedule = () => membership.schedule;
  }

  static async start(
    config: AccumulatorConfig,
    logger: Logger,
    registry = new MetricsRegistry(),
  ): Promise<Accumulator> {
    const resumeAfter = await resumePoint(config, logger);
    // The schedule must be known before the first batch is checked for ownership.
    const membership = createMembership(config.ring, {
      self: config.member,
      step: ringStepOf(config.node.aggregator.resolutions),
      metrics: registry,
      logger,
    });
    await membership.start();
    // `self` is assigned below; ownership reads the schedule through it so a leave can replace the schedule.
    const self: { accumulator?: Accumulator } = {};
    const placement = Placement.of(config.ring, () => self.accumulator?.schedule() ?? membership.schedule);
    const ownership = new RingOwnership(config.member.id, placement);
    const writers = config.fileWriterPath === '' ? [] : [new StatPointFileWriter(config.fileWriterPath)];
    const node = await AccumulatorNode.start(config.node, logger, registry, {
      writers,
      resumeAfter,
      startTicker: false,
      // A key the ring moved away stops being flushed here: its new owner alone writes it from then on.
      ownsStatsdKey: (name, windowStart) => ownership.ownsStatsdKey(name, windowStart),
      health: () => ({
        memberId: config.member.id,
        ringVersion: ownership.versionAt(nowSeconds()),
        flushWatermark: self.accumulator?.cycle.watermark,
        resumedAfter: resumeAfter,
        leavingAt: self.accumulator?.leaving?.effectiveFrom,
      }),
    });
    node.ingest.useOwnership(ownership, registry);
    registry.gauge(
      'accumulator_incomplete_windows_dropped',
      'Coarser windows (and their points) not written after a resume because they began before the watermark',
      ['unit'],
      (gauge) => {
        const dropped = node.aggregator.incompleteWindows;
        gauge.labels('windows').set(dropped.windows);
        gauge.labels('points').set(dropped.points);
      },
    );
    if (resumeAfter !== undefined) node.ingest.countLateAfterRestart(resumeAfter, registry);
    const durability = new DurabilityTracker(
      { maxRelays: config.durability.maxRelays },
      node.aggregator.handedThrough,
      registry,
    );
    const cycle = new FlushCycle({
      aggregator: node.aggregator,
      sink: node.sink,
      durability,
      watermarkFile: config.durability.watermarkFile,
      memberId: config.member.id,
      registry,
      logger,
    });
    const server = await startIngestServer(
      {
        host: config.grpc.listen.host,
        port: config.grpc.listen.port,
        maxMessageBytes: config.grpc.maxMessageBytes,
        keepaliveTimeMs: config.grpc.keepaliveTimeMs,
        keepaliveTimeoutMs: config.grpc.keepaliveTimeoutMs,
        closeTimeoutMs: config.grpc.closeTimeoutMs,
        maxRelays: config.durability.maxRelays,
      },
      new BatchHandler(node.ingest, durability, ownership, node.aggregator),
      registry,
      logger,
    );
    cycle.notify = () => server.notifyDurable();
    const accumulator = new Accumulator(config, logger, registry, membership, node, cycle, server);
    self.accumulator = accumulator;
    // After a crash, relays reconnect and replay; the windows they rebuild must not close before that.
    cycle.start(resumeAfter === undefined ? 0 : config.durability.replayWaitMs);
    logger.info(
      {
        member: config.member,
        grpcPort: server.port,
        placement: config.ring.placement,
        httpPort: node.http?.port,
        resumedAfter: resumeAfter,
        resolutions: config.node.aggregator.resolutions.map((r) => r.name),
      },
      'accumulator started',
    );
    return accumulator;
  }

  /** Leaves the ring, serves the windows still owned until they are flushed, flushes the rest, closes. */
  stop(): Promise<void> {
    this.stopping ??= this.leaveAndClose();
    return this.stopping;
  }

  private async leaveAndClose(): Promise<void> {
    const { config, logger, membership } = this;
    let until = nowSeconds();
    if (membership instanceof RedisMembership) {
      try {
        this.leaving = await membership.leave();
      } catch (error) {
        logger.error({ err: error }, 'leaving the ring failed; its heartbeat expires and the others remove it');
        await membership.close();
      }
      if (this.leaving) {
        // Keep checking ownership against the version without this member, whatever membership saw before closing.
        const withLeave = membership.schedule.including(this.leaving);
        this.schedule = () => withLeave;
        until = Math.max(until, this.leaving.effectiveFrom);
      }
    } else await membership.close();
    logger.info({ ownsUntil: until }, 'leaving: serving owned windows until they are flushed');
    // Windows owned end at `until`; the tick at until + grace flushes the last of them.
    const aggregator = config.node.aggregator;
    const patienceMs =
      Math.max(0, until * 1000 - Date.now()) +
      1000 * (aggregator.graceSeconds + aggregator.resolutions[0]!.step) +
      10_000;
    const flushed = await this.cycle.waitFor(until, Math.min(patienceMs, config.shutdown.maxWaitMs));
    if (!flushed) logger.warn({ until }, 'owned windows not flushed in time: flushing everything now');
    await this.cycle.flushAll();
    // Closing sends each relay its last ack, with every processed batch durable.
    await this.server.close();
    await this.node.stop();
  }
}
