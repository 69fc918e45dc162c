/**
 * Appends records to the current segment with one synchronous writev each, so bytes the node has read survive
 * a kill -9 of the process as soon as the call returns (they are in the page cache); an fdatasync every
 * sync interval bounds what a power failure can take. Rotates segments by size, deletes a segment once every
 * window it touched is written at the coarsest resolution, and keeps the whole log under max bytes by dropping
 * the oldest segments (counted, and raising the replay floor so a crash never rebuilds a window partially).
 */
import { closeSync, fdatasync, fsyncSync, ftruncateSync, mkdirSync, openSync, unlinkSync, writevSync } from 'node:fs';
import { writeReplayFloor } from './checkpoint.js';
import type { WalMetrics } from './metrics.js';
import { encodeRecordHeader, type WalRecord } from './record.js';
import { segmentPath, syncDirectory, type Segment } from './segments.js';

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
  private readonly segments: Segment[];
  private current: Segment;
  private fd: number;
  private totalBytes: number;
  private dirty = false;
  private readonly syncTimer: NodeJS.Timeout | undefined;
  private closed = false;

  /**
   * `existing`: the segments found (and replayed) at start-up, oldest first; appends go to a new segment after
   * them, so a torn tail is never appended to. `replayFloor`: the floor currently on disk.
   */
  constructor(
    private readonly options: WalWriterOptions,
    existing: readonly Segment[],
    private replayFloor: number,
    private readonly metrics: WalMetrics,
  ) {
    mkdirSync(options.dir, { recursive: true });
    this.segments = [...existing];
    this.totalBytes = existing.reduce((sum, segment) => sum + segment.bytes, 0);
    const next = (existing[existing.length - 1]?.index ?? 0) + 1;
    this.current = this.newSegment(next);
    this.fd = this.openSegment(this.current);
    if (options.syncIntervalMs > 0) {
      this.syncTimer = setInterval(() => this.sync(), options.syncIntervalMs);
      this.syncTimer.unref();
    }
  }

  get bytes(): number {
    return this.totalBytes;
  }

  get segmentCount(): number {
    return this.segments.length;
  }

  /** Appends one record; false when the write failed (counted): its lines are then not in the log. */
  append(record: WalRecord): boolean {
    if (this.closed) return false;
    const header = encodeRecordHeader(record);
    const size = header.length + record.lines.length;
    if (this.current.bytes > 0 && this.current.bytes + size > this.options.segmentBytes) this.rotate();
    const before = this.current.bytes;
    try {
      let written = writevSync(this.fd, [header, record.lines]);
      // A regular file takes the whole write unless the disk is full; finish a short one or fail.
      while (written < size) {
        const rest = Buffer.concat([header, record.lines]).subarray(written);
        const more = writevSync(this.fd, [rest]);
        if (more === 0) throw new Error('short write');
        written += more;
      }
    } catch {
      this.metrics.appendErrors.inc();
      // No half record stays in the middle of a segment for replay to stop at.
      try {
        ftruncateSync(this.fd, before);
      } catch {
        // The segment ends torn; replay truncates it there (counted).
      }
      return false;
    }
    this.current.bytes += size;
    this.totalBytes += size;
    this.dirty = true;
    this.metrics.appendedRecords.inc();
    this.metrics.appendedBytes.inc(size);
    if (this.totalBytes > this.options.maxBytes) this.dropOldest();
    return true;
  }

  /** The last record appended stored points in coarsest windows ending up to `coarseEnd`. */
  noteCoarseEnd(coarseEnd: number): void {
    if (coarseEnd > this.current.coarseEnd) this.current.coarseEnd = coarseEnd;
  }

  /**
   * Every coarsest window ending at or before `watermark` is written: the floor moves there (on disk first),
   * then the closed segments holding nothing later are deleted.
   */
  trim(watermark: number): void {
    if (this.closed || watermark <= this.replayFloor) return;
    this.setFloor(watermark);
    let deletable = 0;
    while (deletable < this.segments.length && this.segments[deletable]!.coarseEnd <= watermark) deletable++;
    for (const segment of this.segments.splice(0, deletable)) {
      this.removeFile(segment);
      this.metrics.deletedSegments.inc();
    }
  }

  /** fdatasync of the current segment if anything was appended since the last one. */
  sync(): void {
    if (!this.dirty || this.closed) return;
    this.dirty = false;
    fdatasync(this.fd, (error) => {
      if (error) this.metrics.syncErrors.inc();
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.syncTimer) clearInterval(this.syncTimer);
    try {
      fsyncSync(this.fd);
    } catch {
      this.metrics.syncErrors.inc();
    }
    closeSync(this.fd);
  }

  private newSegment(index: number): Segment {
    return { index, path: segmentPath(this.options.dir, index), bytes: 0, coarseEnd: 0 };
  }

  /** Creates the segment's file; its directory entry is synced once, so the sync interval bounds a power loss. */
  private openSegment(segment: Segment): number {
    const fd = openSync(segment.path, 'a');
    try {
      syncDirectory(this.options.dir);
    } catch {
      this.metrics.syncErrors.inc();
    }
    return fd;
  }

  private rotate(): void {
    try {
      fsyncSync(this.fd);
    } catch {
      this.metrics.syncErrors.inc();
    }
    closeSync(this.fd);
    this.segments.push(this.current);
    this.current = this.newSegment(this.current.index + 1);
    this.fd = this.openSegment(this.current);
    this.dirty = false;
  }

  /** Past max bytes: the oldest closed segments go, and the floor rises past every window they touched. */
  private dropOldest(): void {
    // The current segment goes only after a rotation: a segment is the unit of dropping.
    if (this.segments.length === 0) this.rotate();
    let floor = this.replayFloor;
    while (this.totalBytes > this.options.maxBytes && this.segments.length > 0) {
      const oldest = this.segments.shift()!;
      floor = Math.max(floor, oldest.coarseEnd);
      this.metrics.droppedBytes.inc(oldest.bytes);
      this.metrics.droppedSegments.inc();
      this.removeFile(oldest);
    }
    // A later segment may hold the rest of a window the dropped one began; the floor covers it (see checkpoint.ts).
    if (floor > this.replayFloor) this.setFloor(floor);
  }

  private setFloor(floor: number): void {
    writeReplayFloor(this.options.dir, floor);
    this.replayFloor = floor;
  }

  private removeFile(segment: Segment): void {
    this.totalBytes -= segment.bytes;
    try {
      unlinkSync(segment.path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
}
