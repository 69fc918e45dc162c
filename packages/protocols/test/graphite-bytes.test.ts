import { describe, expect, it } from 'vitest';
import { hashBytes, type GraphiteSample } from '@carillon/core';
import { AsciiInterner, CommonGraphiteLine, parseCommonGraphiteLine, parseGraphiteBytes } from '@carillon/protocols';

const paths = new AsciiInterner(8, 64);
const NOW = 1_767_225_605;

/** The line's sample as the shortcut reads it, its path interned as the ingest does. */
function common(line: string | Buffer): GraphiteSample | undefined {
  const buf = typeof line === 'string' ? Buffer.from(line, 'latin1') : line;
  const out = new CommonGraphiteLine();
  if (!parseCommonGraphiteLine(buf, 0, buf.length, NOW, out)) return undefined;
  // The hash the node's tables are handed instead of hashing the path's bytes again (NameTable.findBytes).
  expect(out.keyHash).toBe(hashBytes(buf, out.keyStart, out.keyEnd));
  return { name: paths.intern(buf, out.keyStart, out.keyEnd, out.keyHash), value: out.value, timestamp: out.timestamp };
}

/** The shortcut must take a line only when parseGraphiteBytes accepts it with that very sample. */
function expectSameAsParser(line: Buffer): boolean {
  const fast = common(line);
  if (fast === undefined) return false;
  const parsed = parseGraphiteBytes(line, 0, line.length, NOW);
  expect(parsed, line.toString('latin1')).toEqual(fast);
  // toEqual does not tell -0 from 0.
  expect(Object.is((parsed as GraphiteSample).value, fast.value), line.toString('latin1')).toBe(true);
  return true;
}

describe('parseCommonGraphiteLine', () => {
  it.each([
    'a.b 1 1767225600',
    'a.b 1',
    'a.b -3.5 1767225600',
    'a.b +4 1767225600',
    'a.b -0 1767225600',
    'a.b .5 1767225600',
    'a.b 12. 1767225600',
    'a.b 123456789012345 0',
    'a.b 1 -1',
    'a.b\t1\t1767225600',
    '  a.b   1   1767225600  ',
    'a.b 1 1767225600\r',
    'A-b_9.c~!@#$%^&*()[]{}<>?|=+:,\'" 7 1767225600',
    'a.b 1 4294967295',
    'a.b 1 1767225600.5',
  ])('reads %s as parseGraphiteBytes does', (line) => {
    expect(expectSameAsParser(Buffer.from(line))).toBe(true);
  });

  it.each([
    ['a tagged name', 'a.b;k=v 1 1767225600'],
    ['a slash', 'a/b 1 1767225600'],
    ['an empty node', 'a..b 1 1767225600'],
    ['a trailing dot', 'a. 1 1767225600'],
    ['a leading dot', '.a 1 1767225600'],
    ['a non-ASCII name', 'caf\u00e9 1 1767225600'],
    ['a DEL byte', 'a\u007fb 1 1767225600'],
    ['an exponent', 'a 1e3 1767225600'],
    ['16 digits', 'a 1234567890123456 1767225600'],
    ['nan', 'a nan 1767225600'],
    ['inf', 'a inf 1767225600'],
    ['no value', 'a'],
    ['a value that is not a number', 'a x 1767225600'],
    ['four fields', 'a 1 1767225600 x'],
    ['a timestamp past 2106', 'a 1 4294967296'],
    ['a negative timestamp', 'a 1 -5'],
    ['a blank line', '   '],
  ])('leaves %s to parseGraphiteBytes', (_what, line) => {
    expect(common(line)).toBeUndefined();
  });

  it('agrees with parseGraphiteBytes on random lines', () => {
    const alphabet = 'ab.; \t/-+0123456789e.\u00e9\u007fnaf_';
    let state = 11;
    const next = (n: number): number => ((state = (Math.imul(state, 1103515245) + 12345) >>> 0) >>> 16) % n;
    let taken = 0;
    for (let i = 0; i < 100_000; i++) {
      // Half the lines start as a common line, so the random edits land near what the shortcut takes.
      let line = next(2) === 0 ? ['a.b 1 1767225600', 'x.y.z -2.5', 'p 7 -1', 'q.r 0.25 1767225600'][next(4)]! : '';
      for (let n = next(8); n > 0; n--) {
        const at = next(line.length + 1);
        line = line.slice(0, at) + alphabet[next(alphabet.length)]! + line.slice(at + next(2));
      }
      if (expectSameAsParser(Buffer.from(line, 'utf8'))) taken++;
    }
    expect(taken).toBeGreaterThan(5_000);
  });
});
