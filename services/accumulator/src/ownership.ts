/**
 * Which (key, window) pairs this accumulator owns: the member the ring schedule names for the key's hash
 * (MurmurHash3 of the canonical name's UTF-8) at the point's time. Relays route by the same rule, so a point
 * that fails the check reached the wrong accumulator (a relay with a stale ring, or a bug).
 */
import { murmur3String, type RingSchedule } from '@carillon/ring';

export interface OwnershipCheck {
  owns(name: string, timeSeconds: number): boolean;
}

export class RingOwnership implements OwnershipCheck {
  constructor(
    readonly memberId: string,
    /** The current schedule; read on every check because membership replaces it on each new version. */
    private readonly schedule: () => RingSchedule,
  ) {}

  owns(name: string, timeSeconds: number): boolean {
    return this.schedule().ownerFor(murmur3String(name), timeSeconds)?.id === this.memberId;
  }

  /** The ring version in force at `timeSeconds` (0 when none). */
  versionAt(timeSeconds: number): number {
    return this.schedule().versionAt(timeSeconds)?.version ?? 0;
  }
}
