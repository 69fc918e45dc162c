/**
 * Line ingest behind the write-ahead log: a record of the raw lines is appended before they are parsed and
 * aggregated, so a line counted as accepted is in the log, and replay runs the very same path (LineIngest's batch
 * path with the record's receive time) to rebuild what a crash lost.
 *
 * The single node's listeners hand over one line at a time; lines are staged per event-loop turn (one socket
 * read, one datagram) and appended as one record in a microtask after the read, before any of them is parsed:
 * one write per read, not per line, and the lines of a read copied at most once.
 */
import { windowStart } from '@carillon/core';
import type { Aggregator } from '@carillon/aggregator';
import type { LineHandler, RejectReason } from '@carillon/protocols';
import type { BatchOutcome, BodyIngest, LineFormat, LineIngest } from './line-ingest.js';
import type { WalRecord } from './wal/record.js';
import type { WalWriter } from './wal/writer.js';

const NEWLINE = 0x0a;

/**
 * Where one turn's lines of a format wait until they are logged and ingested. Lines delivered back to back from
 * one buffer (every line of a read, each followed by its newline) are kept as one range of that buffer and copied
 * once, or not at all: a listener's bytes stay unchanged until the turn ends (lines.ts), and the record is written
 * and ingested before it does. A line that does not follow the last one (another buffer, a dropped `\r`, a
 * skipped empty line) copies the range so far into the stage, newline-terminated as every line of a record.
 */
class Staging {
  private buffer = Buffer.allocUnsafe(64 * 1024);
  private length = 0;
  /** The lines not yet copied: `range[rangeStart, rangeEnd)`, the newline after each but the last included. */
  private range: Buffer | undefined;
  private rangeStart = 0;
  private rangeEnd = 0;

  get empty(): boolean {
    return this.length === 0 && this.range === undefined;
  }

  add(buf: Buffer, start: number, end: number): void {
    const range = this.range;
    if (range === buf && start === this.rangeEnd + 1 && buf[this.rangeEnd] === NEWLINE) {
      this.rangeEnd = end;
      return;
    }
    if (range !== undefined) this.copyRange(range);
    this.range = buf;
    this.rangeStart = start;
    this.rangeEnd = end;
  }

  /**
   * The staged lines, each newline-terminated, and an empty stage. The bytes are a view (of the listener's buffer
   * or of the stage) valid until lines are staged again: the caller logs and ingests them at once.
   */
  take(): Buffer {
    const range = this.range;
    let lines: Buffer;
    if (this.length === 0 && range !== undefined && this.rangeEnd < range.length && range[this.rangeEnd] === NEWLINE) {
      lines = range.subarray(this.rangeStart, this.rangeEnd + 1);
    } else {
      if (range !== undefined) this.copyRange(range);
      lines = this.buffer.subarray(0, this.length);
    }
    this.range = undefined;
    this.length = 0;
    return lines;
  }

  private copyRange(range: Buffer): void {
    const needed = this.length + (this.rangeEnd - this.rangeStart) + 1;
    if (needed > this.buffer.length) {
      const grown = Buffer.allocUnsafe(Math.max(needed, this.buffer.length * 2));
      this.buffer.copy(grown, 0, 0, this.length);
      this.buffer = grown;
    }
    this.length += range.copy(this.buffer, this.length, this.rangeStart, this.rangeEnd);
    this.buffer[this.length++] = NEWLINE;
    this.range = undefined;
  }
}

export interface RelayOrigin {
  relayId: string;
  sequence: number;
}

export class LoggedIngest implements BodyIngest {
  private readonly staged: Record<LineFormat, Staging> = { graphite: new Staging(), statsd: new Staging() };
  private flushQueued = false;
  private readonly coarsestStep: number;

  constructor(
    readonly ingest: LineIngest,
    private readonly aggregator: Aggregator,
    private wal: WalWriter | undefined,
  ) {
    this.coarsestStep = aggregator.resolutions[aggregator.resolutions.length - 1]!.step;
  }

  /** The log appended to from now on (after replay). */
  attach(wal: WalWriter): void {
    this.wal = wal;
  }

  /** Lines received at `receivedAtSeconds` (a relay batch, one read): logged, then ingested. */
  ingestBatch(format: LineFormat, lines: Buffer, receivedAtSeconds: number, origin?: RelayOrigin): BatchOutcome {
    const wal = this.wal;
    if (wal === undefined) return this.ingest.ingestBatch(format, lines, receivedAtSeconds);
    wal.append({
      format,
      receivedAt: receivedAtSeconds,
      nodeNow: this.aggregator.now,
      acceptFrom: this.aggregator.acceptFrom,
      relayId: origin?.relayId ?? '',
      sequence: origin?.sequence ?? 0,
      lines,
    });
    const outcome = this.ingest.ingestBatch(format, lines, receivedAtSeconds);
    wal.noteCoarseEnd(this.coarseEndOf(outcome));
    return outcome;
  }

  /**
   * A request body (POST /lines): logged as one record, then ingested line by line so each line's refusal can be
   * answered. `onLine` hears each line's reject reason (undefined: accepted).
   */
  ingestBody(format: LineFormat, body: Buffer, onLine: (problem: RejectReason | undefined) => void): void {
    const receivedAt = this.aggregator.now;
    this.wal?.append({
      format,
      receivedAt,
      nodeNow: receivedAt,
      acceptFrom: this.aggregator.acceptFrom,
      relayId: '',
      sequence: 0,
      lines: body,
    });
    this.ingest.ingestBody(format, body, onLine, receivedAt);
    // Per line there is no window end to keep: no point can be stored past now + max_future, so that bounds it.
    const latest = receivedAt + this.aggregator.options.maxFutureSeconds;
    this.wal?.noteCoarseEnd(windowStart(latest, this.coarsestStep) + this.coarsestStep);
  }

  /**
   * One logged record again, under the clock and lateness bound it was first received with; nothing before the
   * log's replay floor `floor` is rebuilt (those windows were written, or their log dropped). Its amends are done
   * again unless `amendsStored` (the amend mark, wal/amend-mark.ts) says they are in the store.
   */
  replay(record: WalRecord, floor: number, amendsStored = true): { outcome: BatchOutcome; coarseEnd: number } {
    const moment = { nowSeconds: record.nodeNow, acceptFrom: record.acceptFrom, floor, amendsStored };
    const outcome = this.aggregator.replaying(moment, () =>
      this.ingest.ingestBatch(record.format, record.lines, record.receivedAt),
    );
    return { outcome, coarseEnd: this.coarseEndOf(outcome) };
  }

  /** Listener callback: a Graphite line, staged until the end of this turn. */
  readonly graphiteLine: LineHandler = (buf, start, end) => this.stage('graphite', buf, start, end);

  /** Listener callback: a StatsD line, staged until the end of this turn. */
  readonly statsdLine: LineHandler = (buf, start, end) => this.stage('statsd', buf, start, end);

  /** Logs and ingests what was staged (also run by tests and at stop). */
  flushStaged(): void {
    this.flushQueued = false;
    const receivedAt = this.aggregator.now;
    for (const format of ['graphite', 'statsd'] as const) {
      const staging = this.staged[format];
      if (!staging.empty) this.ingestBatch(format, staging.take(), receivedAt);
    }
  }

  private stage(format: LineFormat, buf: Buffer, start: number, end: number): void {
    this.staged[format].add(buf, start, end);
    if (!this.flushQueued) {
      this.flushQueued = true;
      queueMicrotask(() => this.flushStaged());
    }
  }

  /** End of the latest coarsest window holding the batch's stored points (0: none). */
  private coarseEndOf(outcome: BatchOutcome): number {
    if (outcome.windowEnd === 0) return 0;
    return windowStart(outcome.windowEnd - 1, this.coarsestStep) + this.coarsestStep;
  }
}
