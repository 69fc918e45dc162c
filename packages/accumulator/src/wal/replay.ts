/**
 * Reads the log back at start-up, oldest segment first, handing each complete record to the caller. A torn tail
 * (a crash mid-append) or damage (bad CRC, impossible fields) ends the segment there: the rest is cut off the
 * file and counted by reason, never misread, so the next start does not meet it again.
 */
import { readFileSync, truncateSync } from 'node:fs';
import type { WalMetrics } from './metrics.js';
import { decodeRecord, type WalRecord } from './record.js';
import { listSegmentIndexes, segmentPath, type Segment } from './segments.js';

/** Called per record; returns the end of the latest coarsest window the record's points were stored in (0: none). */
export type ReplayRecord = (record: WalRecord) => number;

/** Replays every segment in `dir`; returns them (sizes after truncation, coarse ends from the replay). */
export function replayWal(dir: string, onRecord: ReplayRecord, metrics: WalMetrics): Segment[] {
  const segments: Segment[] = [];
  for (const index of listSegmentIndexes(dir)) {
    const path = segmentPath(dir, index);
    const data = readFileSync(path);
    const segment: Segment = { index, path, bytes: data.length, coarseEnd: 0 };
    let offset = 0;
    while (offset < data.length) {
      const decoded = decodeRecord(data, offset);
      if (decoded.kind !== 'record') {
        metrics.tornBytes.truncated(decoded.kind === 'short' ? 'short' : decoded.reason).inc(data.length - offset);
        truncateSync(path, offset);
        segment.bytes = offset;
        break;
      }
      metrics.replayedRecords.inc();
      segment.coarseEnd = Math.max(segment.coarseEnd, onRecord(decoded.record));
      offset = decoded.next;
    }
    segments.push(segment);
  }
  return segments;
}
