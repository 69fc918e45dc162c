/**
 * Which (key, window) pairs this accumulator owns: "is it me" over the ring's Placement, the rule the relays route
 * by, so a point that fails the check reached the wrong accumulator (a relay with a stale ring, or a bug).
 */
import { KeyOwner, type Placement } from '@carillon/ring';

export interface OwnershipCheck {
  /** A Graphite point by its canonical name, at its timestamp. */
  owns(name: string, timeSeconds: number): boolean;
  /** The same for a canonical name given as its UTF-8 bytes `bytes[start, end)` (a line's plain path, in place). */
  ownsBytes(bytes: Uint8Array, start: number, end: number, timeSeconds: number): boolean;
  /**
   * A parsed StatsD line, at its arrival time: `line` is its raw text, `name` the canonical name every sample of
   * the line shares.
   */
  ownsStatsd(line: string, name: string, timeSeconds: number): boolean;
}

export class RingOwnership implements OwnershipCheck {
  /** Reused for every answer: checks run one at a time on the ingest path. */
  private readonly owner = new KeyOwner();

  constructor(
    readonly memberId: string,
    readonly placement: Placement,
  ) {}

  owns(name: string, timeSeconds: number): boolean {
    return this.placement.graphiteOwner(name, timeSeconds, this.owner).member?.id === this.memberId;
  }

  ownsBytes(bytes: Uint8Array, start: number, end: number, timeSeconds: number): boolean {
    return this.placement.graphiteOwnerOfBytes(bytes, start, end, timeSeconds, this.owner).member?.id === this.memberId;
  }

  ownsStatsd(line: string, name: string, timeSeconds: number): boolean {
    return this.placement.statsdOwner(line, name, timeSeconds, this.owner).member?.id === this.memberId;
  }

  /** See Placement.ownsStatsdKey: StatsD state kept between flushes stays here only while its key does. */
  ownsStatsdKey(name: string, windowStart: number): boolean {
    return this.placement.ownsStatsdKey(this.memberId, name, windowStart);
  }

  /** The ring version in force at `timeSeconds` (0 when none). */
  versionAt(timeSeconds: number): number {
    return this.placement.versionAt(timeSeconds)?.version ?? 0;
  }
}
