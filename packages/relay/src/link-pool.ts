/**
 * One AccumulatorLink per ring member, following the ring schedule: members that appear get a link, members
 * that no version mentions any more have theirs flushed and closed. For each ring version the links are kept
 * in the version's member order, so routing a line is an array index, not a map lookup.
 */
import type { Logger, MetricsRegistry } from '@carillon/core';
import type { PlacedRingVersion, RingMember, RingSchedule } from '@carillon/ring';
import {
  AccumulatorLink,
  type AccumulatorLinkOptions,
  type LinkDepth,
  type LinkSpoolHooks,
  type RelayIdentity,
} from '@carillon/transport';

function linkKey(member: RingMember): string {
  return `${member.id}@${member.address}`;
}

export class LinkPool {
  private readonly links = new Map<string, AccumulatorLink>();
  private readonly closing = new Set<Promise<void>>();
  /**
   * By member id, of each member whose link was closed: the closing, and the last sequence that link used. A
   * member that comes back (Redis lost the ring, a pod rejoined at a new address) keeps its dedupe state, so its
   * new link waits for the old one and goes on above that sequence.
   */
  private readonly closedLinks = new Map<string, { closed: Promise<void>; lastSequence: number }>();
  private linksByVersion = new Map<PlacedRingVersion, AccumulatorLink[]>();

  constructor(
    private readonly relay: RelayIdentity,
    private readonly options: AccumulatorLinkOptions,
    private readonly metrics: MetricsRegistry,
    private readonly logger?: Logger,
    /** The relay's spool and the first sequence of this run (spool.ts `firstSequence`). */
    private readonly spool?: { hooks: LinkSpoolHooks; firstSequence: number },
  ) {}

  /** Brings the links in line with a (new) schedule. */
  update(schedule: RingSchedule): void {
    const wanted = new Map<string, RingMember>();
    for (const version of schedule.versions) for (const member of version.members) wanted.set(linkKey(member), member);
    // Closing first: a member at a new address is the same member, and its new link goes on from the old one.
    for (const [key, link] of this.links) {
      if (wanted.has(key)) continue;
      this.links.delete(key);
      this.logger?.info({ destination: link.destination.id }, 'member left every ring version; closing its link');
      const closed = link.close().finally(() => this.closing.delete(closed));
      this.closing.add(closed);
      // close() has put the open batches in their own sequences by now: this one is the link's last.
      this.closedLinks.set(link.destination.id, { closed, lastSequence: link.lastSequence });
    }
    for (const [key, member] of wanted) {
      if (this.links.has(key)) continue;
      const earlier = this.closedLinks.get(member.id);
      this.closedLinks.delete(member.id);
      const firstSequence = Math.max(this.spool?.firstSequence ?? 1, (earlier?.lastSequence ?? 0) + 1);
      this.links.set(
        key,
        new AccumulatorLink(
          member,
          this.relay,
          this.options,
          this.metrics,
          this.logger,
          this.spool?.hooks,
          firstSequence,
          earlier?.closed,
        ),
      );
      this.logger?.info({ destination: member.id, address: member.address }, 'link opened');
    }
    const byVersion = new Map<PlacedRingVersion, AccumulatorLink[]>();
    for (const version of schedule.versions)
      byVersion.set(
        version,
        version.members.map((member) => this.links.get(linkKey(member))!),
      );
    this.linksByVersion = byVersion;
  }

  /** Links of `version` in its member order. */
  linksOf(version: PlacedRingVersion): AccumulatorLink[] | undefined {
    return this.linksByVersion.get(version);
  }

  /** The link of a member (`id@address`), if some ring version still names it. */
  linkByKey(key: string): AccumulatorLink | undefined {
    return this.links.get(key);
  }

  /** Every open link. */
  all(): Iterable<AccumulatorLink> {
    return this.links.values();
  }

  depths(): LinkDepth[] {
    return [...this.links.values()].map((link) => link.depth());
  }

  /** Flushes every link and waits (each bounded by its close timeout) for durable acks. */
  async close(): Promise<void> {
    const links = [...this.links.values()];
    this.links.clear();
    this.linksByVersion = new Map();
    await Promise.all([...links.map((link) => link.close()), ...this.closing]);
  }
}
