import { describe, expect, it } from 'vitest';
import { ConfigError } from '@carillon/core';
import { DEFAULT_REPLICAS, HashRing, murmur3String } from '@carillon/ring';

// 200k Graphite-like keys, hashed the way the relay hashes them.
const keys = new Uint32Array(200_000);
for (let i = 0; i < keys.length; i++) keys[i] = murmur3String(`servers.host${i % 997}.app${i % 31}.metric${i}.value`);

const membersNamed = (n: number): { id: string }[] => Array.from({ length: n }, (_, i) => ({ id: `accumulator-${i}` }));

function loads(ring: HashRing): number[] {
  const load = new Array<number>(ring.size).fill(0);
  for (const key of keys) load[ring.lookup(key)]!++;
  return load;
}

describe('HashRing', () => {
  it.each(Array.from({ length: 18 }, (_, i) => i + 3))(
    'going from %i members to one more moves ~1/(N+1) of keys, all to the new member, and stays balanced',
    (n) => {
      const members = membersNamed(n + 1);
      const before = new HashRing(members.slice(0, n));
      const after = new HashRing(members);
      let moved = 0;
      let movedBetweenOld = 0;
      for (const key of keys) {
        const from = before.lookup(key);
        const to = after.lookup(key);
        if (from !== to) {
          moved++;
          if (to !== n) movedBetweenOld++;
        }
      }
      expect(movedBetweenOld).toBe(0);
      const ideal = keys.length / (n + 1);
      expect(Math.abs(moved - ideal) / ideal).toBeLessThanOrEqual(0.1);

      for (const ring of [before, after]) {
        const load = loads(ring);
        const mean = keys.length / ring.size;
        expect(Math.max(...load) / mean).toBeLessThanOrEqual(1.1);
      }
    },
  );

  it('removing a member moves only that member’s keys', () => {
    const members = membersNamed(8);
    const full = new HashRing(members);
    const without3 = new HashRing(members.filter((m) => m.id !== 'accumulator-3'));
    let movedFromOthers = 0;
    let movedFrom3 = 0;
    for (const key of keys) {
      const owner = members[full.lookup(key)]!.id;
      const next = without3.members[without3.lookup(key)]!.id;
      if (owner === 'accumulator-3') movedFrom3++;
      else if (next !== owner) movedFromOthers++;
    }
    expect(movedFromOthers).toBe(0);
    expect(movedFrom3).toBeGreaterThan(0);
  });

  it('gives the same owners whatever order the members are listed in', () => {
    const members = membersNamed(7);
    const forward = new HashRing(members);
    const backward = new HashRing([...members].reverse());
    for (let i = 0; i < 20_000; i++) {
      const key = keys[i]!;
      expect(backward.members[backward.lookup(key)]!.id).toBe(forward.members[forward.lookup(key)]!.id);
    }
  });

  it('keeps points sorted, one per replica, and wraps keys past the last point to the first', () => {
    const ring = new HashRing(membersNamed(3), { replicas: 50 });
    expect(ring.points.length).toBe(150);
    for (let i = 1; i < ring.points.length; i++) expect(ring.points[i]!).toBeGreaterThanOrEqual(ring.points[i - 1]!);
    const last = ring.points[ring.points.length - 1]!;
    if (last < 0xffffffff) expect(ring.lookup(last + 1)).toBe(ring.owners[0]);
    expect(ring.lookup(0)).toBe(ring.owners[0]);
    expect(ring.lookup(ring.points[10]!)).toBe(ring.owners[10]);
    expect(ring.lookup(ring.points[10]! + 1)).toBe(ring.owners[11]);
  });

  it('finds the same owner as a plain scan for every kind of hash', () => {
    for (const [n, replicas] of [
      [1, 1],
      [2, 3],
      [5, 40],
      [20, DEFAULT_REPLICAS],
    ] as const) {
      const ring = new HashRing(membersNamed(n), { replicas });
      const scan = (hash: number): number => {
        for (let i = 0; i < ring.points.length; i++) if (ring.points[i]! >= hash) return ring.owners[i]!;
        return ring.owners[0]!;
      };
      const probes = [0, 1, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];
      for (let i = 0; i < ring.points.length; i += Math.ceil(ring.points.length / 500)) {
        const point = ring.points[i]!;
        probes.push(point, Math.max(0, point - 1), Math.min(0xffffffff, point + 1));
      }
      for (let i = 0; i < 2000; i++) probes.push(keys[i]!);
      for (const hash of probes) expect(ring.lookup(hash)).toBe(scan(hash));
    }
  });

  it('gives a member load in proportion to its weight, integer or real', () => {
    const ring = new HashRing([{ id: 'a' }, { id: 'b', weight: 2 }, { id: 'c', weight: 0.5 }, { id: 'd' }]);
    expect(ring.points.length).toBe(DEFAULT_REPLICAS * 4.5);
    const load = loads(ring);
    const perWeight = keys.length / 4.5;
    [1, 2, 0.5, 1].forEach((weight, i) => {
      expect(load[i]! / (perWeight * weight)).toBeGreaterThan(0.9);
      expect(load[i]! / (perWeight * weight)).toBeLessThan(1.1);
    });
  });

  it('answers -1 for an empty ring and 0 for a single member', () => {
    expect(new HashRing([]).lookup(12345)).toBe(-1);
    const one = new HashRing([{ id: 'only' }]);
    for (let i = 0; i < 1000; i++) expect(one.lookup(keys[i]!)).toBe(0);
  });

  it('rejects duplicate ids, bad weights and bad replica counts', () => {
    expect(() => new HashRing([{ id: 'a' }, { id: 'a' }])).toThrow(ConfigError);
    expect(() => new HashRing([{ id: 'a', weight: 0 }])).toThrow(/weight/);
    expect(() => new HashRing([{ id: 'a', weight: Number.NaN }])).toThrow(/weight/);
    expect(() => new HashRing([{ id: 'a' }], { replicas: 0 })).toThrow(/replicas/);
  });
});
