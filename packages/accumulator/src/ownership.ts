/**
 * Which (key, window) pairs this accumulator owns. Relays route by the same rules, so a point that fails the
 * check reached the wrong accumulator (a relay with a stale ring, or a bug).
 *
 * - Graphite points, and StatsD samples under `carillon` placement: the member the ring schedule names for
 *   MurmurHash3 of the canonical name (UTF-8) at the point's time.
 * - StatsD lines under `statsd-proxy` placement: the member whose id is the node the reference StatsD proxy's
 *   hashring gives the line's raw text before its first `:` (StatsdProxyRing over the static members).
 */
import { murmur3String, statsdProxyKey, type RingSchedule, type StatsdProxyRing } from '@carillon/ring';

export interface OwnershipCheck {
  /** A Graphite point by its canonical name, at its timestamp. */
  owns(name: string, timeSeconds: number): boolean;
  /**
   * A parsed StatsD line, at its arrival time: `line` is its raw text, `name` the canonical name every sample of
   * the line shares.
   */
  ownsStatsd(line: string, name: string, timeSeconds: number): boolean;
}

export class RingOwnership implements OwnershipCheck {
  constructor(
    readonly memberId: string,
    /** The current schedule; read on every check because membership replaces it on each new version. */
    private readonly schedule: () => RingSchedule,
    /** Set under `statsd-proxy` placement: StatsD lines are owned as the reference proxy places them. */
    private readonly statsdProxy?: StatsdProxyRing,
  ) {}

  owns(name: string, timeSeconds: number): boolean {
    return this.schedule().ownerFor(murmur3String(name), timeSeconds)?.id === this.memberId;
  }

  ownsStatsd(line: string, name: string, timeSeconds: number): boolean {
    const proxy = this.statsdProxy;
    if (proxy === undefined) return this.owns(name, timeSeconds);
    // The relay routes only while a ring version is in force, and only to that version's members.
    const version = this.schedule().versionAt(timeSeconds);
    if (version === undefined || !version.members.some((m) => m.id === this.memberId)) return false;
    return proxy.nodes[proxy.nodeOf(statsdProxyKey(line))] === this.memberId;
  }

  /**
   * Whether StatsD state kept between flushes (idle counters, gauges, timers, sets) for the key `name` is still
   * this member's in the window starting at `windowStart`. Under `statsd-proxy` placement the static list never
   * changes while the process runs, and every StatsD line that reached the aggregator passed `ownsStatsd`.
   */
  ownsStatsdKey(name: string, windowStart: number): boolean {
    return this.statsdProxy !== undefined || this.owns(name, windowStart);
  }

  /** The ring version in force at `timeSeconds` (0 when none). */
  versionAt(timeSeconds: number): number {
    return this.schedule().versionAt(timeSeconds)?.version ?? 0;
  }
}
