import { describe, expect, it } from 'vitest';
import type { StatsdSample } from '@carillon/core';
import { AsciiInterner, parseCommonStatsdLine, parseStatsdLine } from '@carillon/protocols';

const keys = new AsciiInterner(8, 64);
const members = new AsciiInterner(6, 16);

function common(line: string | Buffer, maxKeyLength = 4096): StatsdSample | undefined {
  const buf = typeof line === 'string' ? Buffer.from(line) : line;
  const out: StatsdSample = { name: '', type: 'c', value: 0, member: '', sampleRate: 1, gaugeDelta: false };
  return parseCommonStatsdLine(buf, 0, buf.length, maxKeyLength, keys, members, out) ? out : undefined;
}

/** The shortcut must take a line only when parseStatsdLine accepts it with that very sample. */
function expectSameAsParser(line: Buffer): boolean {
  const fast = common(line);
  if (fast === undefined) return false;
  const samples: StatsdSample[] = [];
  expect(parseStatsdLine(line.toString('utf8'), samples), line.toString('latin1')).toBeUndefined();
  expect(samples).toEqual([fast]);
  // toEqual does not tell -0 from 0.
  expect(Object.is(samples[0]!.value, fast.value)).toBe(true);
  return true;
}

describe('parseCommonStatsdLine', () => {
  it.each([
    'a.b:1|c',
    'a.b:-3.5|c',
    'a.b:2|c|@0.1',
    'a.b:2|c|@1',
    'g:42|g',
    'g:+4|g',
    'g:-4.25|g',
    't:0.5|ms',
    't:-0|ms',
    't:12.|ms|@0.25',
    'h:.5|h',
    'd:3|d',
    's:u42|s',
    's:|s',
    's:a b#c@d|s|@0.5',
    'A-b_9.c:123456789012345|c',
  ])('reads %s as parseStatsdLine does', (line) => {
    expect(expectSameAsParser(Buffer.from(line))).toBe(true);
  });

  it.each([
    ['tags', 'a:1|c|#k:v'],
    ['packed values', 'a:1:2|c'],
    ['packed groups', 'a:1|c:2|ms'],
    ['a container id', 'a:1|c|c:abc'],
    ['a key to sanitize', 'a b:1|c'],
    ['a tagged key', 'a;k=v:1|c'],
    ['an empty node', 'a..b:1|c'],
    ['a trailing dot', 'a.:1|c'],
    ['an exponent', 'a:1e3|c'],
    ['16 digits', 'a:1234567890123456|c'],
    ['nan', 'a:nan|c'],
    ['a negative timer', 't:-1|ms'],
    ['a bad rate', 'a:1|c|@2'],
    ['a rate of 0', 'a:1|c|@0'],
    ['trailing blanks', 'a:1|c '],
    ['an unknown type', 'a:1|x'],
    ['no type', 'a:1|'],
    ['no value', 'a:|c'],
    ['no pipe', 'a:1'],
    ['no colon', 'a'],
    ['an empty key', ':1|c'],
    ['a non-ASCII member', 's:é|s'],
    ['two rates', 'a:1|c|@0.5|@0.5'],
  ])('leaves %s to parseStatsdLine', (_what, line) => {
    expect(common(line)).toBeUndefined();
  });

  it('leaves a key over maxKeyLength to parseStatsdLine', () => {
    expect(common('abcd:1|c', 3)).toBeUndefined();
    expect(common('abc:1|c', 3)?.name).toBe('abc');
  });

  it('agrees with parseStatsdLine on random lines', () => {
    const alphabet = 'ab.:|@#-+0123456789 cgsmhd;=e\u00e9_';
    let state = 7;
    const next = (n: number): number => ((state = (Math.imul(state, 1103515245) + 12345) >>> 0) >>> 16) % n;
    let taken = 0;
    for (let i = 0; i < 100_000; i++) {
      // Half the lines start as a common line, so the random edits land near what the shortcut takes.
      let line = next(2) === 0 ? ['a.b:1|c', 't:2.5|ms|@0.5', 's:x|s', 'g:-1|g'][next(4)]! : '';
      for (let n = next(8); n > 0; n--) {
        const at = next(line.length + 1);
        line = line.slice(0, at) + alphabet[next(alphabet.length)]! + line.slice(at + next(2));
      }
      if (expectSameAsParser(Buffer.from(line))) taken++;
    }
    expect(taken).toBeGreaterThan(5_000);
  });
});

describe('AsciiInterner', () => {
  it('gives the same string for the same bytes, and the right one after slots are taken over', () => {
    const interner = new AsciiInterner(2, 8);
    const buf = Buffer.from('abc abc');
    const first = interner.intern(buf, 0, 3);
    expect(first).toBe('abc');
    expect(interner.intern(buf, 4, 7)).toBe(first);
    // Far more strings than its 4 slots: each still comes back right.
    for (let round = 0; round < 3; round++)
      for (let i = 0; i < 100; i++) {
        const text = `k${i}`;
        expect(interner.intern(Buffer.from(text), 0, text.length)).toBe(text);
      }
    const long = Buffer.from('longer than eight');
    expect(interner.intern(long, 0, long.length)).toBe('longer than eight');
  });
});
