/**
 * The write-ahead log at a node's start: where to resume (its replay floor), the replay of what a crash left
 * through the node's logged ingest, and the writer appends go to from then on.
 */
import { mkdirSync } from 'node:fs';
import { windowStart, type Logger, type MetricsRegistry } from '@carillon/core';
import type { BatchOutcome } from './line-ingest.js';
import type { LoggedIngest } from './logged-ingest.js';
import type { NodeConfig } from './node-config.js';
import { readReplayFloor, writeReplayFloor } from './wal/checkpoint.js';
import { WalMetrics } from './wal/metrics.js';
import type { WalRecord } from './wal/record.js';
import { replayWal } from './wal/replay.js';
import { listSegmentIndexes } from './wal/segments.js';
import { WalWriter } from './wal/writer.js';

/** Called for each record replayed from the log, with what it did (the accumulator rebuilds its dedupe). */
export type ReplayedRecord = (record: WalRecord, outcome: BatchOutcome) => void;

/** Where the log says to resume: its replay floor (0 for a log begun before it kept one), or nothing to resume. */
export function walResumePoint(dir: string): number | undefined {
  if (dir === '') return undefined;
  const floor = readReplayFloor(dir);
  if (floor !== undefined) return floor;
  return listSegmentIndexes(dir).length > 0 ? 0 : undefined;
}

/**
 * Replays every record of the log into `logged` (the aggregator resumed at `resumedFrom` first), then opens the
 * writer and attaches it. Undefined when the log is off.
 */
export function openWal(
  config: NodeConfig,
  logged: LoggedIngest,
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
  const segments = replayWal(
    dir,
    (record) => {
      const { outcome, coarseEnd } = logged.replay(record);
      onRecord?.(record, outcome);
      return coarseEnd;
    },
    metrics,
  );
  const { resolutions, graceSeconds } = config.aggregator;
  const coarsestStep = resolutions[resolutions.length - 1]!.step;
  let floor = readReplayFloor(dir);
  if (floor === undefined) {
    // A new log covers nothing before now.
    floor = resumedFrom ?? windowStart(nowSeconds - graceSeconds, coarsestStep);
    mkdirSync(dir, { recursive: true });
    writeReplayFloor(dir, floor);
  }
  const wal = new WalWriter({ dir, segmentBytes, maxBytes, syncIntervalMs }, segments, floor, metrics);
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
