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
import { LineStaging } from './line-staging.js';

export interface RelayOrigin {
  relayId: string;
  sequence: number;
}

export class LoggedIngest implements BodyIngest {
  private readonly staged: Record<LineFormat, LineStaging> = { graphite: new LineStaging(), statsd: new LineStaging() };
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

  /**
   * Lines received at `receivedAtSeconds` (a relay batch, one read): logged, then ingested; `rows`: the Graphite
   * lines read ahead on a listener thread (graphite-rows.ts).
   */
  ingestBatch(
    format: LineFormat,
    lines: Buffer,
    receivedAtSeconds: number,
    origin?: RelayOrigin,
    rows?: Float64Array,
  ): BatchOutcome {
    const wal = this.wal;
    if (wal === undefined) return this.ingest.ingestBatch(format, lines, receivedAtSeconds, rows);
    wal.append({
      format,
      receivedAt: receivedAtSeconds,
      nodeNow: this.aggregator.now,
      acceptFrom: this.aggregator.acceptFrom,
      relayId: origin?.relayId ?? '',
      sequence: origin?.sequence ?? 0,
      lines,
    });
    const outcome = this.ingest.ingestBatch(format, lines, receivedAtSeconds, rows);
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

  /** One read of a listener thread, received now: logged, then ingested (listener-threads.ts). */
  ingestRead(format: LineFormat, lines: Buffer, rows: Float64Array | undefined): void {
    this.ingestBatch(format, lines, this.aggregator.now, undefined, rows);
  }

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
