import { describe, expect, it } from 'vitest';
import { hashBytes } from '@carillon/core';
import { ByteKeyTable } from '@carillon/aggregator';

/** A deterministic random source. */
function random(seed: number): (n: number) => number {
  let state = seed;
  return (n) => ((state = (Math.imul(state, 1103515245) + 12345) >>> 0) >>> 8) % n;
}

/** A random key: mostly short ASCII, some longer, some non-ASCII (only ever given as strings). */
function randomKey(next: (n: number) => number, ascii: boolean): string {
  const alphabet = ascii ? 'abc.-_019' : 'ab.é€😀';
  let key = '';
  for (let n = 1 + next(next(4) === 0 ? 40 : 6); n > 0; n--) key += [...alphabet][next([...alphabet].length)];
  return key;
}

describe('ByteKeyTable', () => {
  it('numbers keys as a Map oracle does, through growth, by bytes and by string, per group', () => {
    for (const seed of [1, 2, 3]) {
      const next = random(seed);
      const table = new ByteKeyTable(); // starts at 64 slots: thousands of keys make it grow many times
      const oracle = new Map<string, number>();
      // Keys at an offset inside a larger buffer, as in a datagram.
      const buf = Buffer.alloc(512);
      for (let i = 0; i < 8_000; i++) {
        const ascii = next(3) !== 0;
        const key = randomKey(next, ascii);
        const group = next(4) === 0 ? next(50) : 0;
        const id = `${group}/${key}`;
        const expected = oracle.get(id);
        const op = next(4);
        let got: number;
        if (op === 0) {
          got = table.findName(key, group);
          expect(got, id).toBe(expected ?? -1);
          continue;
        }
        if (ascii && op === 1) {
          const at = 1 + next(100);
          const end = at + buf.write(key, at, 'latin1');
          const hash = hashBytes(buf, at, end);
          expect(table.find(buf, at, end, hash, group), id).toBe(expected ?? -1);
          got = table.add(buf, at, end, hash, group);
        } else got = table.addName(key, group);
        if (expected === undefined) oracle.set(id, oracle.size);
        expect(got, id).toBe(oracle.get(id));
        expect(table.size).toBe(oracle.size);
      }
      for (const [id, key] of oracle) {
        const slash = id.indexOf('/');
        expect(table.nameOf(key)).toBe(id.slice(slash + 1));
        expect(table.groupOf(key)).toBe(Number(id.slice(0, slash)));
        expect(table.findName(id.slice(slash + 1), Number(id.slice(0, slash)))).toBe(key);
      }
    }
  });

  it('tells keys apart that share a hash, a length or a prefix', () => {
    const table = new ByteKeyTable();
    const buf = Buffer.from('abcabd');
    // A forced equal hash: only the bytes tell them apart.
    expect(table.add(buf, 0, 3, 7)).toBe(0);
    expect(table.add(buf, 3, 6, 7)).toBe(1);
    expect(table.find(buf, 0, 3, 7)).toBe(0);
    expect(table.find(buf, 3, 6, 7)).toBe(1);
    expect(table.find(buf, 0, 2, 7)).toBe(-1);
    // The same bytes in another group are another key.
    expect(table.add(buf, 0, 3, 7, 1)).toBe(2);
    expect(table.find(buf, 0, 3, 7, 0)).toBe(0);
    expect(table.find(buf, 0, 3, 7, 2)).toBe(-1);
    expect(table.nameOf(1)).toBe('abd');
    // Same bytes, and a hash that the group's mixing (hash ^ group * 0x9e3779b1) makes equal: only the group
    // tells them apart.
    const colliding = 7 ^ Math.imul(1, 0x9e3779b1) ^ Math.imul(3, 0x9e3779b1);
    expect(table.add(buf, 0, 3, colliding, 3)).toBe(3);
    expect(table.find(buf, 0, 3, colliding, 3)).toBe(3);
    expect(table.find(buf, 0, 3, 7, 1)).toBe(2);
  });
});
