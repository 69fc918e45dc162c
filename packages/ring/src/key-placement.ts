/**
 * Which member owns a key at a time: the one rule the relay routes by, the accumulator checks ownership by, and
 * a query front looks owners up by.
 *
 * - Graphite keys, and StatsD names under `carillon` placement: MurmurHash3 of the canonical name (its canonical
 *   bytes are defined in key-hash.ts) on the ring version in force at the time (a Graphite point's timestamp, a
 *   StatsD line's arrival).
 * - StatsD lines under `statsd-proxy` placement: the node the reference StatsD proxy's hashring gives the line's
 *   raw text before its first `:` (StatsdProxyRing over the static members), provided that node is a member of
 *   the version in force: the relay sends only to those.
 *
 * Every question has a string form and a byte-range form; the byte forms hash in place without decoding.
 */
import { keyHash, keyHashOfName } from './key-hash.js';
import type { StatsdPlacement } from './placement.js';
import type { RingConfig } from './ring-config.js';
import type { PlacedRingVersion, RingMember, RingSchedule } from './ring-versions.js';
import { StatsdProxyRing, statsdProxyKey } from './statsd-hashring.js';

/**
 * An answer: the version in force and the owner's index into its `members` (and the relay's links for it);
 * `index` is -1 when nobody owns the key. Reuse one instance across calls on a hot path to avoid allocation.
 */
export class KeyOwner {
  version: PlacedRingVersion | undefined = undefined;
  index = -1;

  get member(): RingMember | undefined {
    return this.index < 0 ? undefined : this.version!.members[this.index];
  }
}

export interface PlacementOptions {
  /** The current schedule; read on every call because membership replaces it on each new version. */
  schedule: () => RingSchedule;
  /** How StatsD lines are placed; default `carillon`. */
  statsd?: StatsdPlacement;
  /** The proxy's ring; required under `statsd-proxy`. */
  statsdProxy?: StatsdProxyRing;
}

export class Placement {
  readonly statsd: StatsdPlacement;
  private readonly schedule: () => RingSchedule;
  private readonly proxy: StatsdProxyRing | undefined;
  /** Under `statsd-proxy`: each proxy node's index into a version's members (-1 when not a member), per version. */
  private readonly proxyMemberIndex = new WeakMap<PlacedRingVersion, Int32Array>();
  /** For the boolean questions, which need no answer object. */
  private readonly scratch = new KeyOwner();

  constructor(options: PlacementOptions) {
    this.schedule = options.schedule;
    this.statsd = options.statsd ?? 'carillon';
    if (this.statsd === 'statsd-proxy' && options.statsdProxy === undefined)
      throw new Error('statsd-proxy placement needs the proxy ring (statsdProxy)');
    this.proxy = this.statsd === 'statsd-proxy' ? options.statsdProxy : undefined;
  }

  /**
   * The placement `ring` describes, over `schedule`. Under `statsd-proxy` the static members' ids are the proxy's
   * node names, in its order.
   */
  static of(ring: Pick<RingConfig, 'placement' | 'staticMembers'>, schedule: () => RingSchedule): Placement {
    const statsdProxy =
      ring.placement === 'statsd-proxy' ? new StatsdProxyRing(ring.staticMembers.map((m) => m.id)) : undefined;
    return new Placement({ schedule, statsd: ring.placement, statsdProxy });
  }

  /** True under `statsd-proxy`: a StatsD line is placed by its raw text, so it needs no canonical name. */
  get statsdByLine(): boolean {
    return this.proxy !== undefined;
  }

  /** The ring version in force at `time` (epoch seconds); undefined for an empty schedule. */
  versionAt(time: number): PlacedRingVersion | undefined {
    return this.schedule().versionAt(time);
  }

  /** Owner at `time` of the Graphite key (or carillon-placed StatsD name) `name`, already canonical. */
  graphiteOwner(name: string, time: number, out = new KeyOwner()): KeyOwner {
    return this.onRing(keyHashOfName(name), time, out);
  }

  /** Same as graphiteOwner for the canonical name's bytes `bytes[start, end)`, hashed in place. */
  graphiteOwnerOfBytes(bytes: Uint8Array, start: number, end: number, time: number, out = new KeyOwner()): KeyOwner {
    return this.onRing(keyHash(bytes, start, end), time, out);
  }

  /** Owner at `time` of a StatsD line: `line` its raw text, `name` the canonical name its samples share. */
  statsdOwner(line: string, name: string, time: number, out = new KeyOwner()): KeyOwner {
    const proxy = this.proxy;
    if (proxy === undefined) return this.graphiteOwner(name, time, out);
    return this.onProxy(proxy, proxy.nodeOf(statsdProxyKey(line)), time, out);
  }

  /**
   * Same as statsdOwner for a line in bytes: `bytes[start, keyEnd)` is its text before the first `:`. `name` is
   * the canonical name when those bytes are not already it (undefined when they are); under `statsd-proxy` it is
   * not needed (see statsdByLine).
   */
  statsdOwnerOfBytes(
    bytes: Uint8Array,
    start: number,
    keyEnd: number,
    name: string | undefined,
    time: number,
    out = new KeyOwner(),
  ): KeyOwner {
    const proxy = this.proxy;
    if (proxy !== undefined) return this.onProxy(proxy, proxy.nodeOfBytes(bytes, start, keyEnd), time, out);
    if (name !== undefined) return this.graphiteOwner(name, time, out);
    return this.graphiteOwnerOfBytes(bytes, start, keyEnd, time, out);
  }

  /**
   * Whether StatsD state kept between flushes (idle counters, gauges, timers, sets) for the key `name` is still
   * `memberId`'s in the window starting at `windowStart`, the question the aggregator asks at each flush. Under
   * `statsd-proxy` the static list never changes while the process runs, and every StatsD line that reached the
   * aggregator was owned when it arrived.
   */
  ownsStatsdKey(memberId: string, name: string, windowStart: number): boolean {
    return this.proxy !== undefined || this.graphiteOwner(name, windowStart, this.scratch).member?.id === memberId;
  }

  private onRing(hash: number, time: number, out: KeyOwner): KeyOwner {
    const version = this.schedule().versionAt(time);
    out.version = version;
    out.index = version === undefined ? -1 : version.ring.lookup(hash);
    return out;
  }

  private onProxy(proxy: StatsdProxyRing, node: number, time: number, out: KeyOwner): KeyOwner {
    const version = this.schedule().versionAt(time);
    out.version = version;
    out.index = node < 0 || version === undefined ? -1 : this.proxyMembersOf(proxy, version)[node]!;
    return out;
  }

  private proxyMembersOf(proxy: StatsdProxyRing, version: PlacedRingVersion): Int32Array {
    let index = this.proxyMemberIndex.get(version);
    if (index === undefined) {
      const byId = new Map(version.members.map((member, i) => [member.id, i]));
      index = Int32Array.from(proxy.nodes, (node) => byId.get(node) ?? -1);
      this.proxyMemberIndex.set(version, index);
    }
    return index;
  }
}
