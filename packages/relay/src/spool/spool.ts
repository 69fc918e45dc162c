/**
 * The relay's spool: every line the relay reads is appended here (core's log, one record per read and
 * destination) before it reaches a link, and the links note where each batch they close ends and when their
 * destination acks batches durable. A segment is deleted once every batch holding its lines is acked durable by
 * its destination and no open batch holds any; past `spool.max_bytes` the oldest segments are dropped (counted).
 * At start-up the records left are read back for the replay (replay.ts).
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { LogMetrics, LogWriter, readLog, syncDirectory, type LogSegment, type MetricsRegistry } from '@carillon/core';
import {
  newRelayIdentity,
  relayIdentityFromKey,
  spoolSegmentOf,
  type AccumulatorLink,
  type RelayIdentity,
  type LineFormat,
  type LinkSpoolHooks,
  type SpoolPosition,
} from '@carillon/transport';
import { decodeSpoolBody, encodeSpoolHeader } from './record.js';

export interface SpoolOptions {
  dir: string;
  segmentBytes: number;
  maxBytes: number;
  syncIntervalMs: number;
}

interface SpoolSegment extends LogSegment {
  /** Link key → the batch sequence its destination must ack durable before the segment can go. */
  needs: Map<string, number>;
}

const segmentOf = (segment: LogSegment): SpoolSegment => ({ ...segment, needs: new Map() });

/** A record's number: its segment × 2^32 + its offset there (segments stay far below 2^21). */
const recordNumber = (segment: number, offset: number): number => segment * 2 ** 32 + offset;

export interface SpooledSlice {
  record: number;
  format: LineFormat;
  ringVersion: number;
  receivedAtMs: number;
  destination: string;
  lines: Buffer;
}

export interface SpooledBatch {
  format: LineFormat;
  sequence: number;
  endRecord: number;
  endOffset: number;
  destination: string;
}

/** What a spool held at start-up, in the order it was written. */
export interface SpoolContents {
  slices: SpooledSlice[];
  batches: SpooledBatch[];
  /** Highest durable ack noted per destination. */
  durable: Map<string, number>;
}

/** The key the link pool and the spool name a destination by. */
export const destinationKey = (link: AccumulatorLink): string => `${link.destination.id}@${link.destination.address}`;

/**
 * The relay's identity (its id and the key that proves it, transport relay-identity.ts), kept in the spool
 * directory: the same across restarts, so batches rebuilt from the spool reach the accumulators under the
 * (relay, sequence) they were first sent with, and their dedupe drops those it had. The file holds the secret key:
 * it is created readable by the owner only.
 */
export function spoolRelayIdentity(dir: string): RelayIdentity {
  const path = join(dir, 'relay-identity');
  try {
    const saved = JSON.parse(readFileSync(path, 'utf8')) as { host: string; pid: number; key: string };
    return relayIdentityFromKey(Buffer.from(saved.key, 'hex'), saved.host, saved.pid);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  mkdirSync(dir, { recursive: true });
  const fresh = newRelayIdentity();
  const temporary = `${path}.tmp`;
  const fd = openSync(temporary, 'w', 0o600);
  try {
    writeSync(fd, `${JSON.stringify({ host: hostname(), pid: process.pid, key: fresh.key.toString('hex') })}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temporary, path);
  syncDirectory(dir);
  return fresh;
}

/**
 * The first batch sequence of this run: above every sequence an earlier run with the same relay id can have
 * used, without keeping a counter on disk. A run starting at t ms numbers from t × 1000, and gives fewer than
 * 1000 batches per millisecond it runs, so it stays below the next run's start; `floor` (the highest sequence
 * found in the spool) covers a clock stepped back.
 */
export function firstSequence(nowMs: number, floor: number): number {
  return Math.max(Math.floor(nowMs) * 1000, floor + 1);
}

export class RelaySpool implements LinkSpoolHooks {
  private readonly log: LogWriter<SpoolSegment>;
  private linksNow: () => Iterable<AccumulatorLink> = () => [];
  private linkOf: (key: string) => AccumulatorLink | undefined = () => undefined;

  private constructor(options: SpoolOptions, existing: SpoolSegment[], metrics: LogMetrics) {
    this.log = new LogWriter(options, existing, { makeSegment: segmentOf }, metrics);
  }

  /** Reads what the spool holds (cutting torn tails, counted) and opens it for appending after it. */
  static open(options: SpoolOptions, registry: MetricsRegistry): { spool: RelaySpool; contents: SpoolContents } {
    const sizes = { spool: undefined as RelaySpool | undefined };
    const metrics = new LogMetrics(
      registry,
      'relay_spool',
      () => ({ bytes: sizes.spool?.log.bytes ?? 0, segments: sizes.spool?.log.segmentCount ?? 0 }),
      {
        appendErrors:
          'Spool appends that failed (a full disk): their lines still go to the links, but a relay crash loses them',
        droppedBytes:
          'Bytes of the oldest spool segments dropped past spool.max_bytes: a relay crash before their batches are durable loses them',
        deletedSegments: 'Spool segments deleted because every batch holding their lines was acked durable',
        replayedRecords: 'Spool records read back at start-up (after a crash or a stop with batches not durable)',
      },
    );
    const contents: SpoolContents = { slices: [], batches: [], durable: new Map() };
    const existing = readLog(
      options.dir,
      segmentOf,
      (body, segment, offset) => {
        const record = decodeSpoolBody(body);
        if (typeof record === 'string') return record;
        if (record.kind === 'slice') contents.slices.push({ ...record, record: recordNumber(segment.index, offset) });
        else if (record.kind === 'batch') contents.batches.push(record);
        else
          contents.durable.set(
            record.destination,
            Math.max(record.durable, contents.durable.get(record.destination) ?? 0),
          );
        return undefined;
      },
      metrics,
    );
    const spool = new RelaySpool(options, existing, metrics);
    sizes.spool = spool;
    return { spool, contents };
  }

  /** The links trimming asks about (the link pool's, as they change). */
  attach(links: () => Iterable<AccumulatorLink>, linkOf: (key: string) => AccumulatorLink | undefined): void {
    this.linksNow = links;
    this.linkOf = linkOf;
  }

  /** Appends the lines of one read for one destination; their record number, or undefined if the write failed. */
  appendSlice(
    format: LineFormat,
    ringVersion: number,
    receivedAtMs: number,
    destination: string,
    lines: Buffer,
  ): number | undefined {
    const header = encodeSpoolHeader({ kind: 'slice', format, ringVersion, receivedAtMs, destination, lines });
    const at = this.log.append(header, [lines]);
    return at === undefined ? undefined : recordNumber(at.segment, at.offset);
  }

  batchClosed(
    link: AccumulatorLink,
    format: LineFormat,
    sequence: number,
    end: SpoolPosition | undefined,
    startSegment: number | undefined,
  ): void {
    if (end === undefined || startSegment === undefined) return;
    const destination = destinationKey(link);
    this.log.append(
      encodeSpoolHeader({ kind: 'batch', format, sequence, endRecord: end.record, endOffset: end.offset, destination }),
    );
    for (let index = startSegment; index <= spoolSegmentOf(end.record); index++)
      this.need(index, destination, sequence);
  }

  durable(link: AccumulatorLink, durable: number): void {
    this.log.append(encodeSpoolHeader({ kind: 'durable', durable, destination: destinationKey(link) }));
    this.trim();
  }

  /** Segment `index` may go only once `destination` acked `sequence` durable. */
  need(index: number, destination: string, sequence: number): void {
    const segment = this.segmentAt(index);
    if (segment === undefined) return;
    if ((segment.needs.get(destination) ?? 0) < sequence) segment.needs.set(destination, sequence);
  }

  /** Deletes the oldest closed segments whose lines are all durable where they went. */
  trim(): void {
    let openFrom = Infinity;
    for (const link of this.linksNow()) openFrom = Math.min(openFrom, link.openSpoolSegment);
    this.log.deleteOldestWhile((segment) => {
      if (segment.index >= openFrom) return false;
      for (const [destination, sequence] of segment.needs) {
        // A link closed since (its member left every ring version) counted what it could not deliver.
        const link = this.linkOf(destination);
        if (link !== undefined && link.durableSequence < sequence) return false;
      }
      return true;
    });
  }

  get bytes(): number {
    return this.log.bytes;
  }

  close(): void {
    this.log.close();
  }

  private segmentAt(index: number): SpoolSegment | undefined {
    if (this.log.current.index === index) return this.log.current;
    return this.log.segments.find((segment) => segment.index === index);
  }
}
