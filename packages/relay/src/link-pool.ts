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
    for (const [key, member] of wanted) {
      if (this.links.has(key)) continue;
      this.links.set(
        key,
        new AccumulatorLink(
          member,
          this.relay,
          this.options,
          this.metrics,
          this.logger,
          this.spool?.hooks,
          this.spool?.firstSequence,
        ),
      );
      this.logger?.info({ destination: member.id, address: member.address }, 'link opened');
    }
    for (const [key, link] of this.links) {
      if (wanted.has(key)) continue;
      this.links.delete(key);
      this.logger?.info({ destination: link.destination.id }, 'member left every ring version; closing its link');
      const closed = link.close().finally(() => this.closing.delete(closed));
      this.closing.add(closed);
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
