/**
 * The relay's per-line fast path: find the key bytes, hash the canonical name (in place when the bytes already
 * are canonical), find the point's time, ask the ring version in force at that time for the owner, and append
 * the raw line to the owner's link. Nothing is parsed beyond what placement needs; accumulators parse fully.
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
import {
  murmur3,
  murmur3String,
  type PlacedRingVersion,
  type RingSchedule,
  type StatsdProxyRing,
} from '@carillon/ring';
import type { LineFormat } from '@carillon/transport';
import type { LinkPool } from './link-pool.js';

export class LineRouter {
  readonly graphiteCounters: LineCounters;
  readonly statsdCounters: LineCounters;
  private readonly location = new KeyLocation();
  /** Where locateGraphiteKey found each field of the current line. */
  private readonly fields = new GraphiteFields();
  private readonly noOwner: CounterChild;

  /** With `statsd-proxy` placement: ring member index for each proxy node, per ring version. */
  private readonly proxyMemberIndex = new WeakMap<PlacedRingVersion, Int32Array>();

  constructor(
    private readonly schedule: () => RingSchedule,
    private readonly pool: LinkPool,
    metrics: MetricsRegistry,
    /** When set, StatsD lines are placed as the reference StatsD proxy places them. */
    private readonly statsdProxy?: StatsdProxyRing,
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
    let hash: number;
    if (located.canonical) hash = murmur3(buf, located.keyStart, located.keyEnd);
    else {
      const key = parseMetricName(decodeLine(buf, located.keyStart, located.keyEnd));
      if (typeof key === 'string') return counters.reject(key);
      hash = murmur3String(key.canonical);
    }
    const receivedAtMs = Date.now();
    let time = Math.floor(receivedAtMs / 1000);
    if (fields.timestampEnd > fields.timestampStart) {
      const stamp = readGraphiteTimestamp(buf, fields.timestampStart, fields.timestampEnd);
      if (Number.isNaN(stamp)) return counters.reject('invalid_timestamp');
      if (stamp !== -1) time = stamp;
    }
    this.route('graphite', counters, hash, time, buf, start, end, receivedAtMs);
  };

  readonly statsdLine: LineHandler = (buf, start, end) => {
    const counters = this.statsdCounters;
    const located = locateStatsdKey(buf, start, end, this.location);
    if (typeof located === 'string') return counters.reject(located);
    if (this.statsdProxy) return this.routeLikeStatsdProxy(this.statsdProxy, buf, start, end);
    let hash: number;
    if (located.canonical) hash = murmur3(buf, located.keyStart, located.keyEnd);
    else {
      const name = statsdCanonicalName(decodeLine(buf, start, end));
      if (typeof name === 'string') return counters.reject(name);
      hash = murmur3String(name.name);
    }
    // StatsD points belong to the window of their arrival.
    const receivedAtMs = Date.now();
    this.route('statsd', counters, hash, Math.floor(receivedAtMs / 1000), buf, start, end, receivedAtMs);
  };

  /** The proxy hashes the raw text before the first `:` (unsanitized, tags and all) onto its own ring. */
  private routeLikeStatsdProxy(proxy: StatsdProxyRing, buf: Buffer, start: number, end: number): void {
    let colon = start;
    while (colon < end && buf[colon] !== 0x3a) colon++;
    const receivedAtMs = Date.now();
    this.statsdCounters.accept();
    const version = this.schedule().versionAt(Math.floor(receivedAtMs / 1000));
    const links = version && this.pool.linksOf(version);
    const node = proxy.nodeOfBytes(buf, start, colon);
    const member = node < 0 || !version ? -1 : this.proxyMembersOf(proxy, version)[node]!;
    const link = member < 0 ? undefined : links?.[member];
    if (!link) {
      this.noOwner.inc();
      return;
    }
    link.appendRange('statsd', buf, start, end, receivedAtMs, version!.version);
  }

  private proxyMembersOf(proxy: StatsdProxyRing, version: PlacedRingVersion): Int32Array {
    let index = this.proxyMemberIndex.get(version);
    if (!index) {
      const byId = new Map(version.ring.members.map((member, i) => [member.id, i]));
      index = Int32Array.from(proxy.nodes, (node) => byId.get(node) ?? -1);
      this.proxyMemberIndex.set(version, index);
    }
    return index;
  }

  private route(
    format: LineFormat,
    counters: LineCounters,
    hash: number,
    timeSeconds: number,
    buf: Buffer,
    start: number,
    end: number,
    receivedAtMs: number,
  ): void {
    counters.accept();
    const version = this.schedule().versionAt(timeSeconds);
    const index = version ? version.ring.lookup(hash) : -1;
    const link = index < 0 ? undefined : this.pool.linksOf(version!)?.[index];
    if (!link) {
      this.noOwner.inc();
      return;
    }
    link.appendRange(format, buf, start, end, receivedAtMs, version!.version);
  }
}
