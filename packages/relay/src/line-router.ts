/**
 * The relay's per-line fast path: find the key bytes, find the point's time, ask the Placement for the owner at
 * that time (hashing the key in place when its bytes already are the canonical name), and append the raw line to
 * the owner's link. Nothing is parsed beyond what placement needs; accumulators parse fully.
 */
import { parseMetricName, type CounterChild, type MetricsRegistry } from '@carillon/core';
import {
  GraphiteFields,
  KeyLocation,
  LineCounters,
  decodeLine,
  locateGraphiteKey,
  locateStatsdKey,
  readGraphiteTimestamp,
  statsdCanonicalName,
  type LineHandler,
} from '@carillon/protocols';
import { KeyOwner, type Placement } from '@carillon/ring';
import type { LineFormat } from '@carillon/transport';
import type { LinkPool } from './link-pool.js';
import type { SpoolStage } from './spool-stage.js';

export class LineRouter {
  readonly graphiteCounters: LineCounters;
  readonly statsdCounters: LineCounters;
  private readonly location = new KeyLocation();
  /** Where locateGraphiteKey found each field of the current line. */
  private readonly fields = new GraphiteFields();
  private readonly noOwner: CounterChild;
  /** Reused for every line's answer. */
  private readonly owner = new KeyOwner();

  constructor(
    private readonly placement: Placement,
    private readonly pool: LinkPool,
    metrics: MetricsRegistry,
    /** With a spool, lines wait here until the end of the read, are spooled, then reach their links. */
    private readonly stage?: SpoolStage,
  ) {
    this.graphiteCounters = new LineCounters(metrics, 'graphite');
    this.statsdCounters = new LineCounters(metrics, 'statsd');
    this.noOwner = metrics
      .counter('relay_dropped_lines_total', 'Lines the relay dropped, by reason and destination', [
        'reason',
        'destination',
      ])
      .labels('no_owner', '');
  }

  readonly graphiteLine: LineHandler = (buf, start, end) => {
    const counters = this.graphiteCounters;
    const fields = this.fields;
    const located = locateGraphiteKey(buf, start, end, this.location, fields);
    if (typeof located === 'string') return counters.reject(located);
    let name: string | undefined;
    if (!located.canonical) {
      const key = parseMetricName(decodeLine(buf, located.keyStart, located.keyEnd));
      if (typeof key === 'string') return counters.reject(key);
      name = key.canonical;
    }
    const receivedAtMs = this.stage?.nowMs() ?? Date.now();
    let time = Math.floor(receivedAtMs / 1000);
    if (fields.timestampEnd > fields.timestampStart) {
      const stamp = readGraphiteTimestamp(buf, fields.timestampStart, fields.timestampEnd);
      if (Number.isNaN(stamp)) return counters.reject('invalid_timestamp');
      if (stamp !== -1) time = stamp;
    }
    const owner =
      name === undefined
        ? this.placement.graphiteOwnerOfBytes(buf, located.keyStart, located.keyEnd, time, this.owner)
        : this.placement.graphiteOwner(name, time, this.owner);
    this.route('graphite', counters, owner, buf, start, end, receivedAtMs);
  };

  readonly statsdLine: LineHandler = (buf, start, end) => {
    const counters = this.statsdCounters;
    const located = locateStatsdKey(buf, start, end, this.location);
    if (typeof located === 'string') return counters.reject(located);
    let name: string | undefined;
    if (!located.canonical && !this.placement.statsdByLine) {
      const canonical = statsdCanonicalName(decodeLine(buf, start, end));
      if (typeof canonical === 'string') return counters.reject(canonical);
      name = canonical.name;
    }
    // StatsD points belong to the window of their arrival.
    const receivedAtMs = this.stage?.nowMs() ?? Date.now();
    const time = Math.floor(receivedAtMs / 1000);
    const owner = this.placement.statsdOwnerOfBytes(buf, start, located.keyEnd, name, time, this.owner);
    this.route('statsd', counters, owner, buf, start, end, receivedAtMs);
  };

  private route(
    format: LineFormat,
    counters: LineCounters,
    owner: KeyOwner,
    buf: Buffer,
    start: number,
    end: number,
    receivedAtMs: number,
  ): void {
    counters.accept();
    const version = owner.version;
    const link = owner.index < 0 ? undefined : this.pool.linksOf(version!)?.[owner.index];
    if (!link) {
      this.noOwner.inc();
      return;
    }
    if (this.stage) this.stage.add(link, format, version!.version, buf, start, end);
    else link.appendRange(format, buf, start, end, receivedAtMs, version!.version);
  }
}
