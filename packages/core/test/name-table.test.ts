import { describe, expect, it } from 'vitest';
import { hashBytes, NameTable } from '@carillon/core';

/** A deterministic pseudo-random sequence, so a failure is reproducible. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state / 2 ** 32;
  };
}

describe('NameTable', () => {
  it('agrees with a Map under many adds and removes, through growth, compaction and id reuse', () => {
    const table = new NameTable();
    const oracle = new Map<string, number>();
    const usedIds = new Set<number>();
    const next = random(7);
    // Non-ASCII names too: the table keys by UTF-8 bytes.
    const nameOf = (n: number) => (n % 7 === 0 ? `ß.温度.${n}` : `prod.servers.web-${n}.cpu.user`);
    for (let step = 0; step < 60_000; step++) {
      const name = nameOf(Math.floor(next() * 20_000));
      if (next() < 0.3 && oracle.has(name)) {
        table.remove(oracle.get(name)!);
        usedIds.delete(oracle.get(name)!);
        oracle.delete(name);
      } else {
        const id = table.intern(name);
        if (oracle.has(name)) expect(id).toBe(oracle.get(name));
        else {
          expect(usedIds.has(id)).toBe(false);
          usedIds.add(id);
          oracle.set(name, id);
        }
      }
    }
    expect(table.size).toBe(oracle.size);
    for (const [name, id] of oracle) {
      expect(table.find(name)).toBe(id);
      expect(table.nameOf(id)).toBe(name);
      expect(table.byteLengthOf(id)).toBe(Buffer.byteLength(name));
    }
    expect(new Set(table.names())).toEqual(new Set(oracle.keys()));
    expect(table.find('prod.servers.web-20001.cpu.user')).toBe(-1);
  });

  it('finds a name from its bytes, and hands out a removed id again', () => {
    const table = new NameTable();
    const a = table.intern('a.b');
    const c = table.intern('c.d');
    const line = Buffer.from('xx c.d 1 2\n');
    expect(table.findBytes(line, 3, 6)).toBe(c);
    expect(table.findBytes(line, 3, 5)).toBe(-1);
    // With the hash a parser computed while reading the key: the same answer, the bytes not read again for it.
    expect(table.findBytes(line, 3, 6, hashBytes(line, 3, 6))).toBe(c);
    expect(table.findBytes(line, 3, 5, hashBytes(line, 3, 5))).toBe(-1);
    const wide = table.intern('ß.温度');
    const wideBytes = Buffer.from('ß.温度');
    expect(table.findBytes(wideBytes, 0, wideBytes.length)).toBe(wide);
    expect(table.nameOf(wide)).toBe('ß.温度');
    table.remove(wide);
    table.remove(a);
    expect(table.has(a)).toBe(false);
    expect(table.find('a.b')).toBe(-1);
    expect(table.intern('e.f')).toBe(a);
    expect([...table.names()]).toEqual(['e.f', 'c.d']);
  });

  it('keeps every live name through compaction after most names were removed', () => {
    const table = new NameTable();
    const first = Array.from({ length: 50_000 }, (_, i) => table.intern(`some.long.prefix.name.${i}`));
    for (const id of first.slice(0, 48_000)) table.remove(id);
    for (let i = 0; i < 50_000; i++) table.intern(`other.long.prefix.name.${i}`);
    expect(table.size).toBe(52_000);
    for (let i = 48_000; i < 50_000; i++)
      expect(table.nameOf(table.find(`some.long.prefix.name.${i}`))).toBe(`some.long.prefix.name.${i}`);
    for (let i = 0; i < 50_000; i++)
      expect(table.nameOf(table.find(`other.long.prefix.name.${i}`))).toBe(`other.long.prefix.name.${i}`);
    expect(table.find('some.long.prefix.name.0')).toBe(-1);
  });

  it('keeps names of every length (the length column widens past 255 and 65,535 bytes) through removals', () => {
    const table = new NameTable();
    const oracle = new Map<string, number>();
    const next = random(11);
    // Short names, then ones past 255 bytes, then past 65,535 (a chunk of its own), interleaved with removals that
    // shift probe runs.
    const lengths = [
      ...Array.from({ length: 3000 }, () => 1 + Math.floor(next() * 250)),
      300,
      70_000,
      256,
      255,
      65_536,
    ];
    lengths.push(...Array.from({ length: 2000 }, () => 1 + Math.floor(next() * 2000)));
    lengths.forEach((length, n) => {
      const name = `${n}.`.padEnd(length, String.fromCharCode(97 + (n % 26)));
      oracle.set(name, table.intern(name));
      if (n % 3 === 0) {
        const gone = [...oracle.keys()][Math.floor(next() * oracle.size)]!;
        table.remove(oracle.get(gone)!);
        oracle.delete(gone);
      }
    });
    expect(table.size).toBe(oracle.size);
    for (const [name, id] of oracle) {
      expect(table.find(name)).toBe(id);
      expect(table.byteLengthOf(id)).toBe(name.length);
      expect(table.nameOf(id) === name, `id ${id}`).toBe(true);
    }
    expect(table.find('0.'.padEnd(70_000, 'b'))).toBe(-1);
  });
});
