/**
 * Reads a log back at start-up, oldest segment first, handing each complete record's body to the caller. A torn
 * tail (a crash mid-append) or damage (bad CRC, impossible fields) ends the segment there: the rest is cut off
 * the file and counted by reason, never misread, so the next start does not meet it again.
 */
import { readFileSync, truncateSync } from 'node:fs';
import { decodeFrame } from './frame.js';
import type { LogMetrics } from './metrics.js';
import { listSegmentIndexes, segmentPath, type LogSegment } from './segments.js';

/**
 * Called per record with its body and where it starts (segment, offset of its frame); returns a reason when the
 * body is damaged (the segment is cut there), undefined when it was taken.
 */
export type ReadLogRecord<S extends LogSegment> = (body: Buffer, segment: S, offset: number) => string | undefined;

/** Reads every segment in `dir`; returns them (sizes after truncation), made by `makeSegment`. */
export function readLog<S extends LogSegment>(
  dir: string,
  makeSegment: (segment: LogSegment) => S,
  onRecord: ReadLogRecord<S>,
  metrics: LogMetrics,
  minBodyBytes = 0,
): S[] {
  const segments: S[] = [];
  for (const index of listSegmentIndexes(dir)) {
    const path = segmentPath(dir, index);
    const data = readFileSync(path);
    const segment = makeSegment({ index, path, bytes: data.length });
    let offset = 0;
    while (offset < data.length) {
      const frame = decodeFrame(data, offset, minBodyBytes);
      const damage =
        frame.kind === 'frame'
          ? onRecord(frame.body, segment, offset)
          : frame.kind === 'short'
            ? 'short'
            : frame.reason;
      if (damage !== undefined || frame.kind !== 'frame') {
        metrics.tornBytes.truncated(damage ?? 'short').inc(data.length - offset);
        truncateSync(path, offset);
        segment.bytes = offset;
        break;
      }
      metrics.replayedRecords.inc();
      offset = frame.next;
    }
    segments.push(segment);
  }
  return segments;
}
