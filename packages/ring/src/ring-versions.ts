/**
 * Ring versions: each membership change becomes a new version that takes effect at a window boundary far enough
 * ahead for every relay to have seen it. Points are routed by the version in force for their own timestamp, so a
 * (key, window) pair has exactly one owner while a resize is pending and after it.
 */
import { ConfigError, windowStart, type Resolution } from '@carillon/core';
import { HashRing, type HashRingOptions } from './hash-ring.js';

export interface RingMember {
  /** Stable identity; ring points derive from it. */
  readonly id: string;
  /** Where relays send this member's traffic (host:port). */
  readonly address: string;
  /** Relative capacity, default 1. */
  readonly weight?: number;
}

export interface RingVersion {
  /** 1, 2, 3, ...: one more than the version it replaces. */
  readonly version: number;
  /** Epoch seconds, a multiple of the boundary step: the first timestamp this version governs. */
  readonly effectiveFrom: number;
  readonly members: readonly RingMember[];
}

export interface RingTiming {
  /**
   * Versions change only on multiples of this many seconds. Use the coarsest resolution's step so that every
   * rollup window, not only every flush window, lies inside one version and so has one owner.
   */
  readonly step: number;
  /** Seconds a new version needs to reach every relay (poll interval plus margin). */
  readonly propagationDelay: number;
  /** Seconds back from now that points can still be accepted; versions governing only older times are pruned. */
  readonly retain: number;
}

/**
 * The ring step (RingTiming.step) for `resolutions`, finest first: the coarsest step, so every rollup window, not
 * only every flush window, lies inside one version and so has one owner. Relays and accumulators must agree on it.
 */
export function ringStepOf(resolutions: readonly Resolution[]): number {
  const coarsest = resolutions[resolutions.length - 1];
  if (coarsest === undefined) throw new ConfigError('times', 'at least one resolution is needed for the ring step');
  return coarsest.step;
}

export function validateRingTiming(timing: RingTiming, key = 'ring'): RingTiming {
  if (!Number.isInteger(timing.step) || timing.step <= 0)
    throw new ConfigError(`${key}.step`, `must be a whole number of seconds above zero, got ${timing.step}`);
  if (!Number.isFinite(timing.propagationDelay) || timing.propagationDelay < 0)
    throw new ConfigError(`${key}.propagationDelay`, `must be zero or more seconds, got ${timing.propagationDelay}`);
  if (!Number.isFinite(timing.retain) || timing.retain < 0)
    throw new ConfigError(`${key}.retain`, `must be zero or more seconds, got ${timing.retain}`);
  return timing;
}

/**
 * The boundary a version written at `now` takes effect: the first boundary after `now + propagationDelay`, and
 * never before a still pending version (versions take effect in order).
 */
export function nextEffectiveFrom(now: number, timing: RingTiming, latest?: RingVersion): number {
  const boundary = windowStart(now + timing.propagationDelay, timing.step) + timing.step;
  return latest ? Math.max(boundary, latest.effectiveFrom) : boundary;
}

/** True when both lists hold the same members (same ids, addresses and weights) in any order. */
export function sameMembers(a: readonly RingMember[], b: readonly RingMember[]): boolean {
  if (a.length !== b.length) return false;
  const byId = new Map(a.map((m) => [m.id, m]));
  return b.every((m) => {
    const other = byId.get(m.id);
    return other !== undefined && other.address === m.address && (other.weight ?? 1) === (m.weight ?? 1);
  });
}

/**
 * The version that makes `members` the ring, or undefined when the latest version already has them (or there is
 * no version and no member). The first version governs from the current boundary: before it nothing could be
 * routed, so no window changes owner.
 */
export function planVersion(
  versions: readonly RingVersion[],
  members: readonly RingMember[],
  now: number,
  timing: RingTiming,
): RingVersion | undefined {
  const latest = versions[versions.length - 1];
  if (latest ? sameMembers(latest.members, members) : members.length === 0) return undefined;
  const sorted = [...members].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return {
    version: latest ? latest.version + 1 : 1,
    effectiveFrom: latest ? nextEffectiveFrom(now, timing, latest) : windowStart(now, timing.step),
    members: sorted,
  };
}

/**
 * Versions still needed at `now`: version i governs [effectiveFrom_i, effectiveFrom_i+1), so it can go once
 * the next version took effect at or before `now - retain`, the oldest time a point may still carry.
 */
export function pruneVersions(versions: readonly RingVersion[], now: number, retain: number): RingVersion[] {
  const oldestAccepted = now - retain;
  let first = 0;
  while (first + 1 < versions.length && versions[first + 1]!.effectiveFrom <= oldestAccepted) first++;
  return versions.slice(first);
}

/** A version with its ring built. */
export interface PlacedRingVersion extends RingVersion {
  readonly ring: HashRing;
}

/** An ordered set of versions answering "who owns this hash at this time". Immutable; rebuild to change. */
export class RingSchedule {
  readonly versions: readonly PlacedRingVersion[];
  /** How this schedule's rings were built; a schedule derived from it builds new rings the same way. */
  private readonly options: HashRingOptions;

  /**
   * `previous` lends its built rings to versions it shares, so a rebuild after a new version only builds one.
   * Versions must come in increasing number with non-decreasing effectiveFrom.
   */
  constructor(versions: readonly RingVersion[], options: HashRingOptions = {}, previous?: RingSchedule) {
    this.options = options;
    const sorted = [...versions].sort((a, b) => a.version - b.version);
    sorted.forEach((v, i) => {
      const before = sorted[i - 1];
      if (before && (before.version === v.version || before.effectiveFrom > v.effectiveFrom))
        throw new ConfigError(
          'ring.versions',
          `version ${v.version} (from ${v.effectiveFrom}) conflicts with version ${before.version} (from ${before.effectiveFrom})`,
        );
    });
    this.versions = sorted.map((v) => {
      const built = previous?.versions.find((p) => p.version === v.version && p.effectiveFrom === v.effectiveFrom);
      if (built && sameMembers(built.members, v.members)) return built;
      return {
        version: v.version,
        effectiveFrom: v.effectiveFrom,
        members: v.members,
        ring: new HashRing(v.members, options),
      };
    });
  }

  /** A fixed ring that governs every time: the static member list used without Redis. */
  static fixed(members: readonly RingMember[], options: HashRingOptions = {}): RingSchedule {
    return new RingSchedule([{ version: 1, effectiveFrom: 0, members }], options);
  }

  /**
   * This schedule with `version` spliced in, or this schedule when it already holds that version: what a leaving
   * member checks ownership against once its own leave version is written, whether or not its watcher saw it.
   */
  including(version: RingVersion): RingSchedule {
    if (this.versions.some((v) => v.version === version.version)) return this;
    return new RingSchedule([...this.versions, version], this.options, this);
  }

  get latest(): PlacedRingVersion | undefined {
    return this.versions[this.versions.length - 1];
  }

  /**
   * The version in force at `time` (epoch seconds): the highest-numbered version with effectiveFrom <= time.
   * Times before the oldest kept version fall to it: they are too old to be accepted anyway, and every relay
   * answering the same keeps the misrouted count honest. Undefined only for an empty schedule.
   */
  versionAt(time: number): PlacedRingVersion | undefined {
    const versions = this.versions;
    for (let i = versions.length - 1; i > 0; i--) if (versions[i]!.effectiveFrom <= time) return versions[i];
    return versions[0];
  }

  /** The member owning `hash` for points stamped `time`; undefined when no version or no members. */
  ownerFor(hash: number, time: number): RingMember | undefined {
    const version = this.versionAt(time);
    if (version === undefined) return undefined;
    const index = version.ring.lookup(hash);
    return index < 0 ? undefined : version.members[index];
  }
}
