/**
 * The accumulator's write-ahead log over core's LogWriter: a record per relay batch, socket read or POST body,
 * appended before its lines are parsed. A segment is deleted once every window it touched is written at the
 * coarsest resolution; past max bytes the oldest segments are dropped (counted) and the replay floor rises past
 * every window they touched, so a crash never rebuilds a window partially.
 */
import { LogWriter, type LogPosition } from '@carillon/core';
import { writeReplayFloor } from './checkpoint.js';
import type { WalMetrics } from './metrics.js';
import { encodeRecordHeader, type WalRecord } from './record.js';
import { segmentOf, type Segment } from './segments.js';

export interface WalWriterOptions {
  dir: string;
  /** A segment is closed and a new one begun before an append would take it past this. */
  segmentBytes: number;
  /** Past this over every segment, the oldest segments are dropped (counted). */
  maxBytes: number;
  /** fdatasync period; 0 for none (the page cache alone). */
  syncIntervalMs: number;
}

export class WalWriter {
  private readonly log: LogWriter<Segment>;

  /**
   * `existing`: the segments found (and replayed) at start-up, oldest first; appends go to a new segment after
   * them, so a torn tail is never appended to. `replayFloor`: the floor currently on disk.
   */
  constructor(
    private readonly options: WalWriterOptions,
    existing: readonly Segment[],
    private replayFloor: number,
    metrics: WalMetrics,
  ) {
    this.log = new LogWriter(
      options,
      existing,
      {
        makeSegment: segmentOf,
        // A later segment may hold the rest of a window a dropped one began; the floor covers it (checkpoint.ts).
        onDropped: (dropped) => {
          const floor = dropped.reduce((max, s) => Math.max(max, s.coarseEnd), this.replayFloor);
          if (floor > this.replayFloor) this.setFloor(floor);
        },
      },
      metrics,
    );
  }

  get bytes(): number {
    return this.log.bytes;
  }

  /** Where the next record goes, or later: every record appended so far lies before it. */
  get position(): LogPosition {
    const current = this.log.current;
    return { segment: current.index, offset: current.bytes };
  }

  /** Closed segments (the current one not counted). */
  get segmentCount(): number {
    return this.log.segments.length;
  }

  /** Appends one record; false when the write failed (counted): its lines are then not in the log. */
  append(record: WalRecord): boolean {
    return this.log.append(encodeRecordHeader(record), [record.lines]) !== undefined;
  }

  /** The last record appended stored points in coarsest windows ending up to `coarseEnd`. */
  noteCoarseEnd(coarseEnd: number): void {
    const current = this.log.current;
    if (coarseEnd > current.coarseEnd) current.coarseEnd = coarseEnd;
  }

  /**
   * Every coarsest window ending at or before `watermark` is written: the floor moves there (on disk first),
   * then the closed segments holding nothing later are deleted.
   */
  trim(watermark: number): void {
    if (watermark <= this.replayFloor) return;
    this.setFloor(watermark);
    this.log.deleteOldestWhile((segment) => segment.coarseEnd <= watermark);
  }

  /** fdatasync of the current segment if anything was appended since the last one. */
  sync(): void {
    this.log.sync();
  }

  close(): void {
    this.log.close();
  }

  private setFloor(floor: number): void {
    writeReplayFloor(this.options.dir, floor);
    this.replayFloor = floor;
  }
}
