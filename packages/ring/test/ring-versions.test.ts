import { describe, expect, it } from 'vitest';
import { ConfigError, parseResolutions } from '@carillon/core';
import {
  RingSchedule,
  murmur3String,
  nextEffectiveFrom,
  planVersion,
  pruneVersions,
  ringStepOf,
  sameMembers,
  validateRingTiming,
  type RingMember,
  type RingVersion,
} from '@carillon/ring';

const member = (i: number): RingMember => ({ id: `accumulator-${i}`, address: `10.0.0.${i}:7000` });
const three = [member(0), member(1), member(2)];
const four = [...three, member(3)];
const timing = { step: 600, propagationDelay: 30, retain: 3600 };

// Versions as a cluster would have them: 3 members from 12000, a 4th from 13200.
const v1: RingVersion = { version: 1, effectiveFrom: 12_000, members: three };
const v2: RingVersion = { version: 2, effectiveFrom: 13_200, members: four };

describe('nextEffectiveFrom', () => {
  it('is the first boundary after now + propagation delay', () => {
    expect(nextEffectiveFrom(12_000, timing)).toBe(12_600);
    expect(nextEffectiveFrom(12_569, timing)).toBe(12_600);
    // 12570 + 30 lands exactly on a boundary: that boundary is too close, take the next.
    expect(nextEffectiveFrom(12_570, timing)).toBe(13_200);
    expect(nextEffectiveFrom(12_599, timing)).toBe(13_200);
  });

  it('never lands before a version still pending', () => {
    expect(nextEffectiveFrom(12_000, timing, v2)).toBe(13_200);
    expect(nextEffectiveFrom(13_000, timing, v2)).toBe(13_200);
    expect(nextEffectiveFrom(13_170, timing, v2)).toBe(13_800);
  });

  it('always leaves at least the propagation delay', () => {
    for (let now = 0; now < 3000; now += 7) expect(nextEffectiveFrom(now, timing) - now).toBeGreaterThan(30);
  });
});

describe('planVersion', () => {
  it('makes no first version without members', () => {
    expect(planVersion([], [], 12_345, timing)).toBeUndefined();
  });

  it('starts the first version at the current boundary', () => {
    expect(planVersion([], three, 12_345, timing)).toEqual({ version: 1, effectiveFrom: 12_000, members: three });
  });

  it('makes the next version at a future boundary when members change, and nothing when they do not', () => {
    expect(planVersion([v1], [member(2), member(0), member(1)], 12_345, timing)).toBeUndefined();
    expect(planVersion([v1], four, 12_345, timing)).toEqual({ version: 2, effectiveFrom: 12_600, members: four });
    expect(planVersion([v1, v2], three, 12_345, timing)).toMatchObject({ version: 3, effectiveFrom: 13_200 });
  });

  it('treats a changed address or weight as a change', () => {
    expect(sameMembers(three, [member(0), member(1), { ...member(2), address: 'elsewhere:7000' }])).toBe(false);
    expect(sameMembers(three, [member(0), member(1), { ...member(2), weight: 2 }])).toBe(false);
    expect(sameMembers(three, [member(0), member(1), { ...member(2), weight: 1 }])).toBe(true);
  });
});

describe('pruneVersions', () => {
  it('keeps every version that governs a time still accepted', () => {
    const v3: RingVersion = { version: 3, effectiveFrom: 14_400, members: three };
    // v1 governs [12000, 13200): needed while now - retain < 13200.
    expect(pruneVersions([v1, v2, v3], 16_799, 3600).map((v) => v.version)).toEqual([1, 2, 3]);
    expect(pruneVersions([v1, v2, v3], 16_800, 3600).map((v) => v.version)).toEqual([2, 3]);
    expect(pruneVersions([v1, v2, v3], 18_000, 3600).map((v) => v.version)).toEqual([3]);
    // The version in force is never pruned, however old.
    expect(pruneVersions([v1], 1e9, 3600)).toEqual([v1]);
  });
});

describe('RingSchedule', () => {
  const schedule = new RingSchedule([v2, v1]);

  it('picks the version in force at and around boundaries', () => {
    expect(schedule.versionAt(12_000)?.version).toBe(1);
    expect(schedule.versionAt(13_199)?.version).toBe(1);
    expect(schedule.versionAt(13_200)?.version).toBe(2);
    expect(schedule.versionAt(13_201)?.version).toBe(2);
    expect(schedule.versionAt(99_999)?.version).toBe(2);
    // Older than any kept version: the oldest answers.
    expect(schedule.versionAt(11_999)?.version).toBe(1);
    expect(schedule.latest?.version).toBe(2);
  });

  it('gives each (key, window) exactly one owner while a resize is pending', () => {
    let movedToNew = 0;
    for (let i = 0; i < 10_000; i++) {
      const hash = murmur3String(`servers.web${i}.cpu`);
      // Every time before the boundary routes by the 3-member ring, every time from it by the 4-member ring.
      const before = schedule.ownerFor(hash, 13_190);
      expect(schedule.ownerFor(hash, 12_000)).toBe(before);
      expect(three).toContain(before);
      const after = schedule.ownerFor(hash, 13_200);
      expect(schedule.ownerFor(hash, 13_790)).toBe(after);
      if (after !== before) {
        expect(after).toBe(four[3]);
        movedToNew++;
      }
    }
    expect(movedToNew).toBeGreaterThan(1500);
    expect(movedToNew).toBeLessThan(3500);
  });

  it('lets a later version at the same boundary supersede a pending one', () => {
    const v3: RingVersion = { version: 3, effectiveFrom: 13_200, members: [member(0), member(1)] };
    const superseded = new RingSchedule([v1, v2, v3]);
    expect(superseded.versionAt(13_200)?.version).toBe(3);
    expect(superseded.versionAt(13_199)?.version).toBe(1);
    const hash = murmur3String('servers.web1.cpu');
    expect(['accumulator-0', 'accumulator-1']).toContain(superseded.ownerFor(hash, 13_200)?.id);
  });

  it('rejects versions whose boundaries go backwards or whose numbers repeat', () => {
    expect(() => new RingSchedule([v1, { ...v2, effectiveFrom: 11_400 }])).toThrow(ConfigError);
    expect(() => new RingSchedule([v1, { ...v2, version: 1 }])).toThrow(ConfigError);
  });

  it('reuses built rings of versions it shares with the schedule before', () => {
    const v3: RingVersion = { version: 3, effectiveFrom: 14_400, members: three };
    const next = new RingSchedule([v1, v2, v3], {}, schedule);
    expect(next.versions[0]!.ring).toBe(schedule.versions[0]!.ring);
    expect(next.versions[1]!.ring).toBe(schedule.versions[1]!.ring);
  });

  it('as a fixed member list governs every time with one version', () => {
    const fixed = RingSchedule.fixed(three);
    const hash = murmur3String('a.b.c');
    const owner = fixed.ownerFor(hash, 0);
    expect(three).toContain(owner);
    expect(fixed.ownerFor(hash, 1_700_000_000)).toBe(owner);
    expect(fixed.ownerFor(hash, -5)).toBe(owner);
  });

  it('has no owner without versions or without members', () => {
    expect(new RingSchedule([]).ownerFor(1, 1)).toBeUndefined();
    expect(RingSchedule.fixed([]).ownerFor(1, 1)).toBeUndefined();
  });

  it('validates timing', () => {
    expect(() => validateRingTiming({ step: 0, propagationDelay: 1, retain: 1 })).toThrow(/ring.step/);
    expect(() => validateRingTiming({ step: 10, propagationDelay: -1, retain: 1 })).toThrow(/propagationDelay/);
    expect(validateRingTiming(timing)).toBe(timing);
  });
});

describe('ringStepOf', () => {
  it('is the coarsest resolution step: versions switch only where every rollup window begins', () => {
    expect(ringStepOf(parseResolutions(['10s:168h', '1m:720h', '10m:21600h']))).toBe(600);
    expect(ringStepOf(parseResolutions(['1s:1h']))).toBe(1);
    expect(() => ringStepOf([])).toThrowError(ConfigError);
  });
});

describe('RingSchedule.including', () => {
  it('splices a version in once, reusing built rings and the schedule ring options', () => {
    const schedule = new RingSchedule([v1], { replicas: 50 });
    const spliced = schedule.including(v2);
    expect(spliced.versions.map((v) => v.version)).toEqual([1, 2]);
    expect(spliced.versions[0]).toBe(schedule.versions[0]);
    expect(spliced.versions[1]!.ring.points.length).toBe(4 * 50);
    expect(spliced.versionAt(13_200)?.members).toBe(four);
    // Already there (the watcher saw the version before closing): the same schedule.
    expect(spliced.including(v2)).toBe(spliced);
    expect(schedule.versions.length).toBe(1);
  });
});
