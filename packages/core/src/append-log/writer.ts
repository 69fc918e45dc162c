/**
 * Appends framed records to the current segment of a log with one synchronous writev each, so bytes appended
 * survive a kill -9 of the process as soon as the call returns (they are in the page cache); an fdatasync every
 * sync interval bounds what a power failure can take. Rotates segments by size and keeps the whole log under max
 * bytes by dropping the oldest segments (counted, and told to the owner). Which closed segments may be deleted is
 * the owner's decision (`deleteOldestWhile`): the accumulator's log and the relay's spool decide differently.
 */
import { closeSync, fdatasync, fsyncSync, ftruncateSync, mkdirSync, openSync, unlinkSync, writevSync } from 'node:fs';
import { FRAME_BYTES, frameHeader } from './frame.js';
import type { LogMetrics } from './metrics.js';
import { segmentPath, syncDirectory, type LogSegment } from './segments.js';

export interface LogWriterOptions {
  dir: string;
  /** A segment is closed and a new one begun before an append would take it past this. */
  segmentBytes: number;
  /** Past this over every segment, the oldest segments are dropped (counted). */
  maxBytes: number;
  /** fdatasync period; 0 for none (the page cache alone). */
  syncIntervalMs: number;
}

/** Where an appended record starts: its segment's index and the offset of its frame in it. */
export interface LogPosition {
  segment: number;
  offset: number;
}

export interface LogWriterHooks<S extends LogSegment> {
  /** A new segment's in-memory record (the owner's per-segment state beside index, path and bytes). */
  makeSegment: (segment: LogSegment) => S;
  /** The oldest segments were dropped past max bytes (their files are already gone). */
  onDropped?: (dropped: S[]) => void;
}

export class LogWriter<S extends LogSegment> {
  /** Closed segments, oldest first. */
  private readonly closedSegments: S[];
  private currentSegment: S;
  private fd: number;
  private totalBytes: number;
  private dirty = false;
  private readonly syncTimer: NodeJS.Timeout | undefined;
  private closed = false;

  /** `existing`: the segments found (and read) at start-up; appends go to a new segment after them. */
  constructor(
    private readonly options: LogWriterOptions,
    existing: readonly S[],
    private readonly hooks: LogWriterHooks<S>,
    private readonly metrics: LogMetrics,
  ) {
    mkdirSync(options.dir, { recursive: true });
    this.closedSegments = [...existing];
    this.totalBytes = existing.reduce((sum, s) => sum + s.bytes, 0);
    const next = (existing[existing.length - 1]?.index ?? 0) + 1;
    this.currentSegment = this.newSegment(next);
    this.fd = this.openSegment(this.currentSegment);
    if (options.syncIntervalMs > 0) {
      this.syncTimer = setInterval(() => this.sync(), options.syncIntervalMs);
      this.syncTimer.unref();
    }
  }

  get bytes(): number {
    return this.totalBytes;
  }

  /** Closed segments plus the current one. */
  get segmentCount(): number {
    return this.closedSegments.length + 1;
  }

  get current(): S {
    return this.currentSegment;
  }

  /** Closed segments, oldest first (read only). */
  get segments(): readonly S[] {
    return this.closedSegments;
  }

  /** Whether a record of `bodyBytes` would begin a new segment. */
  wouldRotate(bodyBytes: number): boolean {
    const current = this.currentSegment;
    return current.bytes > 0 && current.bytes + FRAME_BYTES + bodyBytes > this.options.segmentBytes;
  }

  /**
   * Appends one record: `header` has FRAME_BYTES reserved in front of the caller's fixed fields, `rest` the
   * remaining body parts. Returns where it starts, or undefined when the write failed (counted).
   */
  append(header: Buffer, rest: readonly Uint8Array[] = []): LogPosition | undefined {
    if (this.closed) return undefined;
    frameHeader(header, rest);
    let size = header.length;
    for (const part of rest) size += part.length;
    if (this.wouldRotate(size - FRAME_BYTES)) this.rotate();
    const segment = this.currentSegment;
    const before = segment.bytes;
    try {
      let written = writevSync(this.fd, [header, ...rest]);
      // A regular file takes the whole write unless the disk is full; finish a short one or fail.
      while (written < size) {
        const more = writevSync(this.fd, [Buffer.concat([header, ...rest]).subarray(written)]);
        if (more === 0) throw new Error('short write');
        written += more;
      }
    } catch {
      this.metrics.appendErrors.inc();
      // No half record stays in the middle of a segment for a reader to stop at.
      try {
        ftruncateSync(this.fd, before);
      } catch {
        // The segment ends torn; the next start's read cuts it there (counted).
      }
      return undefined;
    }
    segment.bytes += size;
    this.totalBytes += size;
    this.dirty = true;
    this.metrics.appendedRecords.inc();
    this.metrics.appendedBytes.inc(size);
    if (this.totalBytes > this.options.maxBytes) this.dropOldest();
    return { segment: segment.index, offset: before };
  }

  /** Deletes closed segments from the oldest while `deletable` says so; returns how many. */
  deleteOldestWhile(deletable: (segment: S) => boolean): number {
    if (this.closed) return 0;
    let count = 0;
    while (count < this.closedSegments.length && deletable(this.closedSegments[count]!)) count++;
    for (const segment of this.closedSegments.splice(0, count)) {
      this.removeFile(segment);
      this.metrics.deletedSegments.inc();
    }
    return count;
  }

  /** Closes the current segment (fsynced) and begins the next. */
  rotate(): void {
    try {
      fsyncSync(this.fd);
    } catch {
      this.metrics.syncErrors.inc();
    }
    closeSync(this.fd);
    this.closedSegments.push(this.currentSegment);
    this.currentSegment = this.newSegment(this.currentSegment.index + 1);
    this.fd = this.openSegment(this.currentSegment);
    this.dirty = false;
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

  private newSegment(index: number): S {
    return this.hooks.makeSegment({ index, path: segmentPath(this.options.dir, index), bytes: 0 });
  }

  /** Creates the segment's file; its directory entry is synced once, so the sync interval bounds a power loss. */
  private openSegment(segment: S): number {
    const fd = openSync(segment.path, 'a');
    try {
      syncDirectory(this.options.dir);
    } catch {
      this.metrics.syncErrors.inc();
    }
    return fd;
  }

  /** Past max bytes: the oldest closed segments go (a segment is the unit of dropping). */
  private dropOldest(): void {
    if (this.closedSegments.length === 0) this.rotate();
    const dropped: S[] = [];
    while (this.totalBytes > this.options.maxBytes && this.closedSegments.length > 0) {
      const oldest = this.closedSegments.shift()!;
      this.metrics.droppedBytes.inc(oldest.bytes);
      this.metrics.droppedSegments.inc();
      this.removeFile(oldest);
      dropped.push(oldest);
    }
    if (dropped.length > 0) this.hooks.onDropped?.(dropped);
  }

  private removeFile(segment: S): void {
    this.totalBytes -= segment.bytes;
    try {
      unlinkSync(segment.path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
}
