import { describe, expect, it } from 'vitest';
import { hashBytes } from '@carillon/core';
import { ByteKeyTable, IntPairSet } from '@carillon/aggregator';

/** A deterministic random source. */
function random(seed: number): (n: number) => number {
  let state = seed;
  return (n) => ((state = (Math.imul(state, 1103515245) + 12345) >>> 0) >>> 8) % n;
}

/** A random key: mostly short ASCII, some longer, some non-ASCII (only ever given as strings). */
function randomKey(next: (n: number) => number, ascii: boolean): string {
  const alphabet = [...(ascii ? 'abc.-_019' : 'ab.é€😀')];
  let key = '';
  for (let n = 1 + next(next(4) === 0 ? 40 : 6); n > 0; n--) key += alphabet[next(alphabet.length)];
  return key;
}

describe('ByteKeyTable', () => {
  it('numbers keys as a Map oracle does, through growth, by bytes and by string', () => {
    for (const seed of [1, 2, 3]) {
      const next = random(seed);
      const table = new ByteKeyTable(); // starts at 64 slots: thousands of keys make it grow many times
      const oracle = new Map<string, number>();
      // Keys at an offset inside a larger buffer, as in a datagram.
      const buf = Buffer.alloc(512);
      for (let i = 0; i < 8_000; i++) {
        const ascii = next(3) !== 0;
        const key = randomKey(next, ascii);
        const expected = oracle.get(key);
        const op = next(4);
        if (op === 0) {
          expect(table.findName(key), key).toBe(expected ?? -1);
          continue;
        }
        let got: number;
        if (ascii && op === 1) {
          const at = 1 + next(100);
          const end = at + buf.write(key, at, 'latin1');
          const hash = hashBytes(buf, at, end);
          expect(table.find(buf, at, end, hash), key).toBe(expected ?? -1);
          got = table.add(buf, at, end, hash);
        } else got = table.addName(key);
        if (expected === undefined) oracle.set(key, oracle.size);
        expect(got, key).toBe(oracle.get(key));
        expect(table.size).toBe(oracle.size);
      }
      expect(oracle.size).toBeGreaterThan(1000);
      for (const [key, number] of oracle) {
        expect(table.nameOf(number)).toBe(key);
        expect(table.findName(key)).toBe(number);
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
    expect(table.nameOf(1)).toBe('abd');
  });

  it('finds a key first given as a string by its UTF-8 bytes, and never by bytes that are not UTF-8', () => {
    const table = new ByteKeyTable();
    expect(table.addName('é.a')).toBe(0);
    expect(table.addName('\ufffd')).toBe(1); // what a lenient decoder makes of a stray byte
    const utf8 = Buffer.from('é.a');
    expect(table.find(utf8, 0, utf8.length, hashBytes(utf8, 0, utf8.length))).toBe(0);
    const stray = Buffer.from([0xff]);
    expect(table.find(stray, 0, 1, hashBytes(stray, 0, 1))).toBe(-1);
    expect(table.add(stray, 0, 1, hashBytes(stray, 0, 1))).toBe(2);
    expect(table.add(utf8, 0, utf8.length, hashBytes(utf8, 0, utf8.length))).toBe(0);
    expect(table.addName('é.a')).toBe(0);
    expect(table.findName('\ufffd')).toBe(1);
    expect(table.size).toBe(3);
  });
});

describe('IntPairSet', () => {
  it('holds pairs as a Set oracle does, through growth', () => {
    const next = random(9);
    const set = new IntPairSet();
    const oracle = new Set<string>();
    for (let i = 0; i < 50_000; i++) {
      // Small numbers (many repeats and pairs that differ in one number only) and a few large ones.
      const first = next(10) === 0 ? 2 ** 30 + next(5) : next(300);
      const second = next(10) === 0 ? 2 ** 30 + next(5) : next(50);
      const id = `${first},${second}`;
      if (next(3) === 0) {
        expect(set.has(first, second), id).toBe(oracle.has(id));
        continue;
      }
      expect(set.add(first, second), id).toBe(!oracle.has(id));
      oracle.add(id);
      expect(set.size).toBe(oracle.size);
    }
    expect(oracle.size).toBeGreaterThan(5_000);
    for (const id of oracle) {
      const [first, second] = id.split(',').map(Number);
      expect(set.has(first!, second!)).toBe(true);
      expect(set.has(second!, first!)).toBe(oracle.has(`${second},${first}`));
    }
  });
});
