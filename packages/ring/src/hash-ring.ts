/**
 * A consistent-hash ring (after carbon-c-relay's consistent-hash.c). Each member sits at many points on a 32-bit
 * circle; a key belongs to the first point at or after its hash, wrapping at the top. A member's points depend only
 * on its own id and weight, so adding a member moves only the keys that now land on the new member's points.
 */
import { ConfigError } from '@carillon/core';
import { murmur3String } from './murmur3.js';

export interface HashRingMember {
  /** Stable identity (e.g. the StatefulSet pod name). Point positions derive from it. */
  readonly id: string;
  /** Relative capacity; points are proportional to it. Default 1. */
  readonly weight?: number;
}

export interface HashRingOptions {
  /** Points for a member of weight 1. More points: better balance, larger ring. */
  replicas?: number;
}

/** Chosen by measurement (see test/hash-ring.test.ts): max/mean load stays under 1.10 for 3..20 members. */
export const DEFAULT_REPLICAS = 1000;

// Points pack (hash, member rank) into one float64 so a single numeric typed-array sort orders them; the rank
// breaks ties between equal hashes the same way on every relay whatever order the members were listed in.
const RANK_SPACE = 0x10000;

export class HashRing {
  /** Point positions, ascending. */
  readonly points: Uint32Array;
  /** `owners[i]` is the index (into `members`) of the member at `points[i]`. */
  readonly owners: Uint16Array;
  readonly members: readonly HashRingMember[];
  // `bucketStart[b]` is the first point whose top bits are >= b: a lookup reads one bucket, then searches only
  // within it (about one point) instead of across the whole ring. Measured in bench/ring.bench.mjs.
  private readonly bucketStart: Uint32Array;
  private readonly bucketShift: number;

  constructor(members: readonly HashRingMember[], options: HashRingOptions = {}) {
    const replicas = options.replicas ?? DEFAULT_REPLICAS;
    if (!Number.isInteger(replicas) || replicas < 1)
      throw new ConfigError('ring.replicas', `must be a whole number of at least 1, got ${replicas}`);
    if (members.length > RANK_SPACE) throw new ConfigError('ring.members', `at most ${RANK_SPACE} members`);
    this.members = members;

    const byId = members.map((member, index) => ({ id: member.id, index }));
    byId.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    byId.forEach((entry, rank) => {
      if (rank > 0 && byId[rank - 1]!.id === entry.id)
        throw new ConfigError('ring.members', `duplicate id ${entry.id}`);
    });

    const counts = byId.map(({ index }) => pointCount(members[index]!, replicas));
    const total = counts.reduce((sum, n) => sum + n, 0);
    const packed = new Float64Array(total);
    let at = 0;
    byId.forEach(({ id }, rank) => {
      for (let replica = 0; replica < counts[rank]!; replica++)
        packed[at++] = murmur3String(`${id}-${replica}`) * RANK_SPACE + rank;
    });
    packed.sort();

    this.points = new Uint32Array(total);
    this.owners = new Uint16Array(total);
    for (let i = 0; i < total; i++) {
      const rank = packed[i]! % RANK_SPACE;
      this.points[i] = (packed[i]! - rank) / RANK_SPACE;
      this.owners[i] = byId[rank]!.index;
    }

    // About one point per bucket, between 16 and 65536 buckets.
    const bits = Math.min(16, Math.max(4, Math.ceil(Math.log2(Math.max(1, total)))));
    this.bucketShift = 32 - bits;
    const buckets = 1 << bits;
    this.bucketStart = new Uint32Array(buckets + 1);
    let p = 0;
    for (let b = 0; b < buckets; b++) {
      const bucketLow = b * 2 ** this.bucketShift;
      while (p < total && this.points[p]! < bucketLow) p++;
      this.bucketStart[b] = p;
    }
    this.bucketStart[buckets] = total;
  }

  get size(): number {
    return this.members.length;
  }

  /** Index into `members` of the owner of `hash` (an unsigned 32-bit hash); -1 for an empty ring. */
  lookup(hash: number): number {
    const points = this.points;
    const n = points.length;
    if (n === 0) return -1;
    // First point >= hash. Points of later buckets are all above hash, so if none in this bucket is, the next
    // bucket's first point is the answer; past the last point the circle wraps to the first.
    const bucket = hash >>> this.bucketShift;
    let low = this.bucketStart[bucket]!;
    let high = this.bucketStart[bucket + 1]!;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (points[mid]! < hash) low = mid + 1;
      else high = mid;
    }
    return this.owners[low === n ? 0 : low]!;
  }
}

function pointCount(member: HashRingMember, replicas: number): number {
  const weight = member.weight ?? 1;
  if (!(weight > 0) || !Number.isFinite(weight))
    throw new ConfigError(`ring.members.${member.id}.weight`, `must be a positive number, got ${weight}`);
  return Math.max(1, Math.round(replicas * weight));
}
