/**
 * Reads the log back at start-up (core `readLog`: oldest segment first, a torn tail or damage cut off and
 * counted by reason), handing each complete record to the caller.
 */
import { readLog, type LogPosition } from '@carillon/core';
import type { WalMetrics } from './metrics.js';
import { decodeRecordBody, type WalRecord } from './record.js';
import { segmentOf, type Segment } from './segments.js';

/**
 * Called per record with where it starts; returns the end of the latest coarsest window the record's points were
 * stored in (0: none).
 */
export type ReplayRecord = (record: WalRecord, position: LogPosition) => number;

/** Replays every segment in `dir`; returns them (sizes after truncation, coarse ends from the replay). */
export function replayWal(dir: string, onRecord: ReplayRecord, metrics: WalMetrics): Segment[] {
  return readLog(
    dir,
    segmentOf,
    (body, segment, offset) => {
      const record = decodeRecordBody(body);
      if (typeof record === 'string') return record;
      segment.coarseEnd = Math.max(segment.coarseEnd, onRecord(record, { segment: segment.index, offset }));
      return undefined;
    },
    metrics,
  );
}
