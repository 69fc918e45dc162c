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
import { serverCredentials, startIngestServer, type IngestServer } from '@carillon/transport';
import type { AccumulatorConfig } from './accumulator-config.js';
import { BatchHandler } from './batch-handler.js';
import { DurabilityTracker } from './durability.js';
import { FlushCycle } from './flush-cycle.js';
import { AccumulatorNode } from './node.js';
import { RingOwnership } from './ownership.js';
import { queryHandler } from './query-handler.js';
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

/** The parts a started accumulator runs. */
interface Running {
  membership: Membership;
  node: AccumulatorNode;
  cycle: FlushCycle;
  server: IngestServer;
  /** Stops watching the gRPC certificate files. */
  closeTls: () => void;
  handler: BatchHandler;
}

export class Accumulator {
  private running: Running | undefined;
  private stopping: Promise<void> | undefined;
  /** Set at leave: the version without this member, and the schedule that holds it. */
  private leaving: RingVersion | undefined;
  private pinnedSchedule: RingSchedule | undefined;
  private resumedAfter: number | undefined;

  constructor(
    private readonly config: AccumulatorConfig,
    private readonly logger: Logger,
    readonly registry = new MetricsRegistry(),
  ) {}

  /** The aggregating node, once started. */
  get node(): AccumulatorNode | undefined {
    return this.running?.node;
  }

  async start(): Promise<void> {
    const { config, logger, registry } = this;
    const resumeAfter = await resumePoint(config, logger);
    this.resumedAfter = resumeAfter;
    // The schedule must be known before the first batch is checked for ownership.
    const membership = createMembership(config.ring, {
      self: config.member,
      step: ringStepOf(config.node.aggregator.resolutions),
      metrics: registry,
      logger,
    });
    await membership.start();
    const placement = Placement.of(config.ring, () => this.scheduleOf(membership));
    const ownership = new RingOwnership(config.member.id, placement);
    const writers = config.fileWriterPath === '' ? [] : [new StatPointFileWriter(config.fileWriterPath)];
    const replayedBatches: { relayId: string; sequence: number; windowEnd: number }[] = [];
    const node = await AccumulatorNode.start(config.node, logger, registry, {
      writers,
      onReplayed: (record, outcome) => {
        if (record.relayId !== '')
          replayedBatches.push({ relayId: record.relayId, sequence: record.sequence, windowEnd: outcome.windowEnd });
      },
      resumeAfter,
      startTicker: false,
      ownership,
      // A key the ring moved away stops being flushed here: its new owner alone writes it from then on.
      ownsStatsdKey: (name, windowStart) => ownership.ownsStatsdKey(name, windowStart),
      readiness: {
        membership: () => membership.notReady(),
        ingest: () => (this.running === undefined ? 'ingest server not listening yet' : undefined),
      },
      stateFiles: [config.durability.watermarkFile],
      health: () => ({
        memberId: config.member.id,
        ringVersion: ownership.versionAt(nowSeconds()),
        flushWatermark: this.running?.cycle.watermark,
        resumedAfter: this.resumedAfter,
        leavingAt: this.leaving?.effectiveFrom,
      }),
    });
    registry.gauge(
      'accumulator_incomplete_windows_dropped',
      'Coarser windows (and their points) not written after a resume without a write-ahead log covering them, because they began before the watermark',
      ['unit'],
      (gauge) => {
        const dropped = node.aggregator.incompleteWindows;
        gauge.labels('windows').set(dropped.windows);
        gauge.labels('points').set(dropped.points);
      },
    );
    const durability = new DurabilityTracker(
      { maxRelays: config.durability.maxRelays },
      node.aggregator.handedThrough,
      registry,
    );
    // The relay batches the log held were aggregated again at the node's start: they become durable as their
    // windows are written, and the relays' replay of them is dropped as duplicates.
    const processedSeed = new Map<string, number>();
    for (const { relayId, sequence, windowEnd } of replayedBatches) {
      durability.processed(relayId, sequence, windowEnd);
      if (sequence > (processedSeed.get(relayId) ?? 0)) processedSeed.set(relayId, sequence);
    }
    replayedBatches.length = 0;
    this.resumedAfter = node.resumedFrom;
    const cycle = new FlushCycle({
      aggregator: node.aggregator,
      sink: node.sink,
      durability,
      watermarkFile: config.durability.watermarkFile,
      memberId: config.member.id,
      registry,
      logger,
    });
    const grpcTls = serverCredentials(config.cluster, registry, logger);
    const handler = new BatchHandler(node.logged, durability, ownership, node.aggregator);
    const server = await startIngestServer(
      {
        token: config.cluster.token,
        credentials: grpcTls.credentials,
        host: config.grpc.listen.host,
        port: config.grpc.listen.port,
        maxMessageBytes: config.grpc.maxMessageBytes,
        keepaliveTimeMs: config.grpc.keepaliveTimeMs,
        keepaliveTimeoutMs: config.grpc.keepaliveTimeoutMs,
        closeTimeoutMs: config.grpc.closeTimeoutMs,
        maxRelays: config.durability.maxRelays,
        processedSeed,
        query: queryHandler(node.querySources),
      },
      handler,
      registry,
      logger,
    );
    this.running = { membership, node, cycle, server, handler, closeTls: grpcTls.close };
    // After a crash, relays reconnect and replay; the windows they rebuild must not close before that.
    cycle.start(node.resumedFrom === undefined ? 0 : config.durability.replayWaitMs);
    logger.info(
      {
        member: config.member,
        grpcPort: server.port,
        placement: config.ring.placement,
        httpPort: node.http?.port,
        resumedAfter: node.resumedFrom,
        resolutions: config.node.aggregator.resolutions.map((r) => r.name),
      },
      'accumulator started',
    );
  }

  /** Leaves the ring, serves the windows still owned until they are flushed, flushes the rest, closes. */
  stop(): Promise<void> {
    this.stopping ??= this.running ? this.leaveAndClose(this.running) : Promise.resolve();
    return this.stopping;
  }

  /** The schedule ownership is checked against: membership's, until a leave pins it (with the leave in it). */
  private scheduleOf(membership: Membership): RingSchedule {
    return this.pinnedSchedule ?? membership.schedule;
  }

  private async leaveAndClose({ membership, node, cycle, server, handler, closeTls }: Running): Promise<void> {
    const { config, logger } = this;
    const deadline = Date.now() + config.shutdown.maxWaitMs;
    let until = nowSeconds();
    if (membership instanceof RedisMembership) {
      try {
        const leaving = await membership.leave();
        if (leaving) {
          // Ownership is checked against the version without this member, whatever membership sees after closing.
          this.pinnedSchedule = membership.schedule.including(leaving);
          this.leaving = leaving;
          until = Math.max(until, leaving.effectiveFrom);
        }
      } catch (error) {
        logger.error({ err: error }, 'leaving the ring failed; its heartbeat expires and the others remove it');
        await membership.close();
      }
    } else await membership.close();
    logger.info({ ownsUntil: until }, 'leaving: serving owned windows until they are flushed');
    // Windows owned end at `until`; the tick at until + grace flushes the last of them.
    const aggregator = config.node.aggregator;
    const patienceMs =
      Math.max(0, until * 1000 - Date.now()) +
      1000 * (aggregator.graceSeconds + aggregator.resolutions[0]!.step) +
      10_000;
    const flushed = await cycle.waitFor(until, Math.min(patienceMs, config.shutdown.maxWaitMs));
    if (!flushed) logger.warn({ until }, 'owned windows not flushed in time: flushing everything now');
    // A relay slow to send (or reconnecting) can still hold batches for the windows it owned: they amend them. It
    // stays until no new batch came for durability.replay_wait (relays route nothing new here), within max_wait.
    // A relay that crashed while sending here holds on its spool what it had not sent yet: one whose stream ended
    // without its goodbye, with batches here not durable, is waited for (shutdown.relay_return_wait from that
    // end), and the quiet counts from its return.
    const quietMs = config.durability.replayWaitMs;
    const returnWaitMs = config.shutdown.relayReturnWaitMs;
    let waitingFor = 0;
    for (;;) {
      const away = server.relaysAway(returnWaitMs);
      if (away !== waitingFor) logger.info({ relays: away }, 'leaving: relays whose streams ended, not back yet');
      waitingFor = away;
      const quietSince = Math.max(handler.lastBatchAtMs, server.lastReturnAtMs);
      if ((away === 0 && Date.now() - quietSince >= quietMs) || Date.now() >= deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    // The windows flushAll closes early keep their lines in the log for the next start.
    node.sealLog();
    await cycle.flushAll();
    // Closing sends each relay its last ack, with every processed batch durable.
    await server.close();
    closeTls();
    await node.stop();
  }
}
