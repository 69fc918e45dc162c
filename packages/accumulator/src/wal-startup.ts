/**
 * The write-ahead log at a node's start: where to resume (its replay floor), the replay of what a crash left
 * through the node's logged ingest, and the writer appends go to from then on.
 */
import { mkdirSync } from 'node:fs';
import { windowStart, type Logger, type MetricsRegistry } from '@carillon/core';
import type { BatchOutcome } from './line-ingest.js';
import type { LoggedIngest } from './logged-ingest.js';
import type { NodeConfig } from './node-config.js';
import { isBefore, readAmendMark, writeAmendMark } from './wal/amend-mark.js';
import { readReplayFloor, writeReplayFloor } from './wal/checkpoint.js';
import { WalMetrics } from './wal/metrics.js';
import type { WalRecord } from './wal/record.js';
import { replayWal } from './wal/replay.js';
import { listSegmentIndexes } from './wal/segments.js';
import { WalWriter } from './wal/writer.js';

/** Called for each record replayed from the log, with what it did (the accumulator rebuilds its dedupe). */
export type ReplayedRecord = (record: WalRecord, outcome: BatchOutcome) => void;

/** Where a node with a log starts: the log's replay floor, and where the aggregator resumes. */
export interface WalStart {
  /** Windows ending at or before it are not rebuilt (checkpoint.ts); 0 for a log begun before it kept one. */
  floor: number;
  /**
   * The floor, or the usual start-up bound if that is older (a floor raised past max_bytes can lie ahead of it):
   * live points from there on are accepted as at any start.
   */
  resumeFrom: number;
}

/** Undefined when the log is off or holds nothing (a first start): then nothing is replayed. */
export function walStart(config: NodeConfig, nowSeconds: number): WalStart | undefined {
  const { dir } = config.wal;
  if (dir === '') return undefined;
  const floor = readReplayFloor(dir) ?? (listSegmentIndexes(dir).length > 0 ? 0 : undefined);
  if (floor === undefined) return undefined;
  const { resolutions, graceSeconds } = config.aggregator;
  const usual = windowStart(nowSeconds - graceSeconds, resolutions[0]!.step);
  return { floor, resumeFrom: Math.min(floor, usual) };
}

/**
 * Replays every record of the log into `logged` (the aggregator resumed at `resumedFrom` first), then opens the
 * writer and attaches it. Undefined when the log is off.
 */
export function openWal(
  config: NodeConfig,
  logged: LoggedIngest,
  start: WalStart | undefined,
  resumedFrom: number | undefined,
  nowSeconds: number,
  registry: MetricsRegistry,
  logger: Logger,
  onRecord?: ReplayedRecord,
): WalWriter | undefined {
  const { dir, segmentBytes, maxBytes, syncIntervalMs } = config.wal;
  if (dir === '') return undefined;
  const sizes = { wal: undefined as WalWriter | undefined };
  const metrics = new WalMetrics(registry, () => ({
    bytes: sizes.wal?.bytes ?? 0,
    segments: sizes.wal === undefined ? 0 : sizes.wal.segmentCount + 1,
  }));
  const started = performance.now();
  // None in a log kept before the mark existed: its amends below the floor are not merged again.
  const amendMark = start === undefined ? undefined : readAmendMark(dir);
  const segments = replayWal(
    dir,
    (record, position) => {
      const amendsStored = amendMark === undefined || isBefore(position, amendMark);
      const { outcome, coarseEnd } = logged.replay(record, start?.floor ?? 0, amendsStored);
      onRecord?.(record, outcome);
      return coarseEnd;
    },
    metrics,
  );
  const { resolutions, graceSeconds } = config.aggregator;
  const coarsestStep = resolutions[resolutions.length - 1]!.step;
  let floor = start === undefined ? undefined : readReplayFloor(dir);
  if (floor === undefined) {
    // A new log covers nothing before now.
    floor = resumedFrom ?? windowStart(nowSeconds - graceSeconds, coarsestStep);
    mkdirSync(dir, { recursive: true });
    writeReplayFloor(dir, floor);
  }
  const wal = new WalWriter({ dir, segmentBytes, maxBytes, syncIntervalMs }, segments, floor, metrics);
  // Nothing is appended yet: every amend in the log from here on is after the mark.
  if (amendMark === undefined) writeAmendMark(dir, wal.position);
  sizes.wal = wal;
  logged.attach(wal);
  if (segments.length > 0)
    logger.info(
      {
        segments: segments.length,
        records: metrics.replayedRecords.value,
        replayFrom: floor,
        ms: Math.round(performance.now() - started),
      },
      'write-ahead log replayed',
    );
  return wal;
}
