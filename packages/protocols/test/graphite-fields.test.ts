import { describe, expect, it } from 'vitest';
import {
  GraphiteFields,
  KeyLocation,
  locateGraphiteKey,
  parseGraphiteBytes,
  parseGraphiteLine,
  readGraphiteTimestamp,
  scanGraphiteFields,
} from '@carillon/protocols';

interface Scanned {
  key: string;
  value: string;
  timestamp: string | undefined;
  extra: boolean;
}

/** Scans `line` inside padding, so offsets relative to a range are checked too. */
function scan(line: string): Scanned {
  const bytes = Buffer.from(`#${line}#`);
  const f = scanGraphiteFields(bytes, 1, bytes.length - 1, new GraphiteFields());
  const text = (start: number, end: number): string => bytes.toString('utf8', start, end);
  return {
    key: text(f.keyStart, f.keyEnd),
    value: text(f.valueStart, f.valueEnd),
    timestamp: f.timestampStart === f.timestampEnd ? undefined : text(f.timestampStart, f.timestampEnd),
    extra: f.extra,
  };
}

describe('scanGraphiteFields', () => {
  it.each<[string, string, Scanned]>([
    ['three fields', 'a.b 1 2', { key: 'a.b', value: '1', timestamp: '2', extra: false }],
    ['tabs', 'a.b\t1.5\t2', { key: 'a.b', value: '1.5', timestamp: '2', extra: false }],
    ['runs of spaces and tabs', 'a.b  \t 1   \t2', { key: 'a.b', value: '1', timestamp: '2', extra: false }],
    ['leading and trailing separators', ' \t a.b 1 2 \t ', { key: 'a.b', value: '1', timestamp: '2', extra: false }],
    ['a stray \\r is a separator', 'a.b 1 2\r', { key: 'a.b', value: '1', timestamp: '2', extra: false }],
    ['\\r between fields', 'a.b\r1\r2', { key: 'a.b', value: '1', timestamp: '2', extra: false }],
    ['missing timestamp', 'a.b 1', { key: 'a.b', value: '1', timestamp: undefined, extra: false }],
    ['missing timestamp, trailing space', 'a.b 1  ', { key: 'a.b', value: '1', timestamp: undefined, extra: false }],
    ['missing value', 'a.b', { key: 'a.b', value: '', timestamp: undefined, extra: false }],
    ['missing value, trailing space', 'a.b ', { key: 'a.b', value: '', timestamp: undefined, extra: false }],
    ['blank', ' \t ', { key: '', value: '', timestamp: undefined, extra: false }],
    ['empty', '', { key: '', value: '', timestamp: undefined, extra: false }],
    ['one extra field', 'a.b 1 2 3', { key: 'a.b', value: '1', timestamp: '2', extra: true }],
    ['many extra fields', 'a.b 1 2 3 4 5', { key: 'a.b', value: '1', timestamp: '2', extra: true }],
    ['tags', 'a.b;k=v;x=y 1 2', { key: 'a.b;k=v;x=y', value: '1', timestamp: '2', extra: false }],
    ['tags, no timestamp', 'a;k=v\t1', { key: 'a;k=v', value: '1', timestamp: undefined, extra: false }],
    ['UTF-8 key', 'héllo.wörld -1 -1', { key: 'héllo.wörld', value: '-1', timestamp: '-1', extra: false }],
    [
      'other whitespace is not a separator',
      'a\u00a0b 1\v 2',
      { key: 'a\u00a0b', value: '1\v', timestamp: '2', extra: false },
    ],
  ])('%s: %j', (_name, line, expected) => {
    expect(scan(line)).toEqual(expected);
  });
});

describe('readGraphiteTimestamp', () => {
  it.each<[string, number]>([
    ['1600000000', 1600000000],
    ['0', 0],
    ['0001', 1],
    ['4294967295', 4294967295],
    ['4294967296', NaN],
    ['1700000000000', NaN],
    ['1600000000.9', 1600000000],
    ['1.6e9', 1600000000],
    ['-1', -1],
    ['-1.0', -1],
    ['-2', NaN],
    ['-0.5', NaN],
    ['x', NaN],
    ['nan', NaN],
    ['inf', NaN],
    ['1é', NaN],
  ])('%j → %d', (field, seconds) => {
    const bytes = Buffer.from(` ${field} `);
    expect(readGraphiteTimestamp(bytes, 1, bytes.length - 1)).toBe(seconds);
  });
});

describe('parser, key locator and timestamp reader see the same fields', () => {
  const lines = [
    'a.b.c 1 1600000000',
    'a.b.c\t1.5\t1600000000',
    '  a.b.c   -2.25   1600000000  ',
    'a.b.c 1 1600000000\r',
    'a 1',
    'a 1 -1',
    'a.b;z=1;a=2 1 1',
    'héllo.wörld 1 1',
    'a 1 2 3',
    'a',
    '  ',
    'a 1 x',
  ];
  it.each(lines)('%j', (line) => {
    const bytes = Buffer.from(line);
    const fields = new GraphiteFields();
    const located = locateGraphiteKey(bytes, 0, bytes.length, new KeyLocation(), fields);
    const parsed = parseGraphiteLine(line, 42);
    expect(parseGraphiteBytes(bytes, 0, bytes.length, 42)).toEqual(parsed);
    // The locator refuses the shapes the parser refuses as malformed, and nothing else on these lines.
    expect(located === 'malformed_line').toBe(parsed === 'malformed_line');
    if (typeof located === 'string' || typeof parsed === 'string') return;
    expect(bytes.toString('utf8', located.keyStart, located.keyEnd)).toBe(
      located.canonical ? parsed.name : line.trim().split(/\s+/)[0],
    );
    const stamp =
      fields.timestampStart === fields.timestampEnd
        ? -1
        : readGraphiteTimestamp(bytes, fields.timestampStart, fields.timestampEnd);
    expect(stamp === -1 ? 42 : stamp).toBe(parsed.timestamp);
  });
});

describe('parseGraphiteBytes', () => {
  it('reads a line inside a larger buffer', () => {
    const bytes = Buffer.from('xx a.b 2.5 100\nyy');
    expect(parseGraphiteBytes(bytes, 3, 14, 1)).toEqual({ name: 'a.b', value: 2.5, timestamp: 100 });
  });

  it('decodes fields of lines whose bytes are not one UTF-16 unit each', () => {
    const bytes = Buffer.from('zz héllo;k=wörld 2 100');
    expect(parseGraphiteBytes(bytes, 3, bytes.length, 1)).toEqual({ name: 'héllo;k=wörld', value: 2, timestamp: 100 });
    expect(parseGraphiteBytes(Buffer.from('hé 1é 1'), 0, 9, 1)).toBe('invalid_value');
  });
});
