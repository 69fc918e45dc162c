import { describe, expect, it } from 'vitest';
import { MetricsRegistry, type GraphiteSample } from '@carillon/core';
import {
  GraphiteFields,
  KeyLocation,
  LineCounters,
  REJECT_REASONS,
  isRejectReason,
  locateGraphiteKey,
  parseDecimal,
  parseGraphiteLine,
  scanGraphiteFields,
  type RejectReason,
} from '@carillon/protocols';

const NOW = 1_700_000_000;

describe('parseGraphiteLine accepts', () => {
  it.each<[string, GraphiteSample]>([
    ['a.b.c 1 1600000000', { name: 'a.b.c', value: 1, timestamp: 1600000000 }],
    ['a.b.c\t1.5\t1600000000', { name: 'a.b.c', value: 1.5, timestamp: 1600000000 }],
    ['  a.b.c   -2.25   1600000000  ', { name: 'a.b.c', value: -2.25, timestamp: 1600000000 }],
    ['a.b.c 1 1600000000\r', { name: 'a.b.c', value: 1, timestamp: 1600000000 }],
    ['a 1e3 1600000000', { name: 'a', value: 1000, timestamp: 1600000000 }],
    ['a 1.5E-3 1600000000', { name: 'a', value: 0.0015, timestamp: 1600000000 }],
    ['a +7 1600000000', { name: 'a', value: 7, timestamp: 1600000000 }],
    ['a .5 1600000000', { name: 'a', value: 0.5, timestamp: 1600000000 }],
    ['a 5. 1600000000', { name: 'a', value: 5, timestamp: 1600000000 }],
    ['a 0.1 1600000000', { name: 'a', value: 0.1, timestamp: 1600000000 }],
    ['a 123456789012345678901 1', { name: 'a', value: 1.2345678901234568e20, timestamp: 1 }],
    ['a 3.14159265358979323846 1', { name: 'a', value: 3.141592653589793, timestamp: 1 }],
    ['a 1 1600000000.9', { name: 'a', value: 1, timestamp: 1600000000 }],
    ['a 1 -1', { name: 'a', value: 1, timestamp: NOW }],
    ['a 1 -1.0', { name: 'a', value: 1, timestamp: NOW }],
    ['a 1', { name: 'a', value: 1, timestamp: NOW }],
    ['a 1 0', { name: 'a', value: 1, timestamp: 0 }],
    ['a 1 4294967295', { name: 'a', value: 1, timestamp: 4294967295 }],
    ['a.b;z=1;a=2 1 1', { name: 'a.b;a=2;z=1', value: 1, timestamp: 1 }],
    ['a;k=1;k=2 1 1', { name: 'a;k=2', value: 1, timestamp: 1 }],
    ['a;name=x;k=v 1 1', { name: 'a;k=v', value: 1, timestamp: 1 }],
    ['héllo.wörld 1 1', { name: 'héllo.wörld', value: 1, timestamp: 1 }],
    ['a-b_c:d@e 1 1', { name: 'a-b_c:d@e', value: 1, timestamp: 1 }],
  ])('%j', (line, expected) => {
    expect(parseGraphiteLine(line, NOW)).toEqual(expected);
  });
});

describe('parseGraphiteLine refuses', () => {
  it.each<[string, RejectReason]>([
    ['', 'malformed_line'],
    ['   ', 'malformed_line'],
    ['a.b.c', 'malformed_line'],
    ['a.b.c  ', 'malformed_line'],
    ['a 1 2 3', 'malformed_line'],
    ['a..b 1 1', 'invalid_path'],
    ['.a 1 1', 'invalid_path'],
    ['a. 1 1', 'invalid_path'],
    ['a/b 1 1', 'invalid_path'],
    ['a\u0001b 1 1', 'invalid_path'],
    [';k=v 1 1', 'invalid_path'],
    ['a;k 1 1', 'invalid_tag'],
    ['a;k= 1 1', 'invalid_tag'],
    ['a;k=~v 1 1', 'invalid_tag'],
    ['a;k!=v 1 1', 'invalid_tag'],
    ['a x 1', 'invalid_value'],
    ['a 1x 1', 'invalid_value'],
    ['a 0x10 1', 'invalid_value'],
    ['a 1e 1', 'invalid_value'],
    ['a 1e+ 1', 'invalid_value'],
    ['a - 1', 'invalid_value'],
    ['a . 1', 'invalid_value'],
    ['a 1..2 1', 'invalid_value'],
    ['a 1_000 1', 'invalid_value'],
    ['a inf 1', 'invalid_value'],
    ['a -Infinity 1', 'invalid_value'],
    ['a 1e400 1', 'invalid_value'],
    ['a nan 1', 'nan_value'],
    ['a NaN 1', 'nan_value'],
    ['a -nan 1', 'nan_value'],
    ['a 1 x', 'invalid_timestamp'],
    ['a 1 nan', 'invalid_timestamp'],
    ['a 1 -2', 'invalid_timestamp'],
    ['a 1 -0.5', 'invalid_timestamp'],
    ['a 1 1700000000000', 'invalid_timestamp'],
    ['a 1 inf', 'invalid_timestamp'],
  ])('%j → %s', (line, reason) => {
    expect(parseGraphiteLine(line, NOW)).toBe(reason);
  });
});

describe('parseDecimal', () => {
  it('agrees with Number on every decimal it accepts', () => {
    const texts = [
      '0',
      '-0.0',
      '1.7976931348623157e308',
      '5e-324',
      '0.30000000000000004',
      '999999999999999',
      '9007199254740993',
    ];
    for (const text of texts) expect(parseDecimal(text, 0, text.length)).toBe(Number(text));
  });

  it('reads a field inside a longer string', () => {
    expect(parseDecimal('x 12.5 y', 2, 6)).toBe(12.5);
  });
});

describe('locateGraphiteKey', () => {
  const encoder = new TextEncoder();
  const locate = (line: string): KeyLocation | RejectReason => {
    const padded = encoder.encode(`##${line}##`);
    return locateGraphiteKey(padded, 2, padded.length - 2);
  };
  const keyOf = (line: string): string => {
    const padded = encoder.encode(`##${line}##`);
    const location = locateGraphiteKey(padded, 2, padded.length - 2);
    if (typeof location === 'string') throw new Error(location);
    return new TextDecoder().decode(padded.subarray(location.keyStart, location.keyEnd));
  };

  it('finds an untagged key as canonical bytes', () => {
    expect(keyOf('  a.b.c 1 2')).toBe('a.b.c');
    const location = locate('a.b.c 1 2');
    expect(typeof location === 'object' && location.canonical).toBe(true);
  });

  it('marks a tagged key as needing canonicalization', () => {
    expect(keyOf('a.b;z=1;a=2\t1\t2')).toBe('a.b;z=1;a=2');
    const location = locate('a.b;z=1;a=2 1 2');
    expect(typeof location === 'object' && location.canonical).toBe(false);
  });

  it('reuses the result object it is given', () => {
    const out = new KeyLocation();
    const bytes = encoder.encode('a 1 2');
    expect(locateGraphiteKey(bytes, 0, bytes.length, out)).toBe(out);
  });

  it.each<[string, RejectReason]>([
    ['', 'malformed_line'],
    ['a.b', 'malformed_line'],
    ['a.b   ', 'malformed_line'],
    ['a 1 2 3', 'malformed_line'],
    ['a..b 1 2', 'invalid_path'],
    ['a. 1 2', 'invalid_path'],
    ['.a 1 2', 'invalid_path'],
    ['a/b 1 2', 'invalid_path'],
    [';k=v 1 2', 'invalid_path'],
    ['a.;k=v 1 2', 'invalid_path'],
  ])('%j → %s', (line, reason) => {
    expect(locate(line)).toBe(reason);
  });

  it('agrees with the full parser on the key of every line the parser accepts', () => {
    const lines = ['a.b.c 1 1', ' x\t2', 'héllo.wörld 1 1', 'a.b;z=1;a=2 1 1', 'a-b_c:d@e 3 4'];
    for (const line of lines) {
      const sample = parseGraphiteLine(line, NOW);
      const location = locate(line);
      expect(typeof sample).toBe('object');
      expect(typeof location).toBe('object');
      if (typeof sample === 'object' && typeof location === 'object' && location.canonical)
        expect(keyOf(line)).toBe(sample.name);
    }
  });

  it('finds the fields scanGraphiteFields finds and refuses no line the parser takes, on random lines', () => {
    const alphabet = 'ab.;= \t\r/1-\u00e9\u007f';
    let state = 7;
    const next = (n: number): number => ((state = (Math.imul(state, 1103515245) + 12345) >>> 0) >>> 16) % n;
    let taken = 0;
    for (let i = 0; i < 50_000; i++) {
      let line = next(2) === 0 ? ['a.b 1 1', 'x.y;k=v 2', ' p\t3 -1'][next(3)]! : '';
      for (let n = next(6); n > 0; n--) {
        const at = next(line.length + 1);
        line = line.slice(0, at) + alphabet[next(alphabet.length)]! + line.slice(at + next(2));
      }
      const bytes = Buffer.from(line);
      const fields = new GraphiteFields();
      const located = locateGraphiteKey(bytes, 0, bytes.length, new KeyLocation(), fields);
      expect(fields, line).toEqual(scanGraphiteFields(bytes, 0, bytes.length, new GraphiteFields()));
      const parsed = parseGraphiteLine(line, NOW);
      if (located === 'malformed_line') expect(parsed, line).toBe('malformed_line');
      if (typeof parsed === 'string') continue;
      taken++;
      expect(typeof located, line).toBe('object');
      if (typeof located === 'object' && located.canonical)
        expect(bytes.toString('utf8', located.keyStart, located.keyEnd), line).toBe(parsed.name);
    }
    expect(taken).toBeGreaterThan(5_000);
  });
});

describe('LineCounters', () => {
  it('pre-creates every reason and counts accepted and rejected lines as received', () => {
    const registry = new MetricsRegistry();
    const counters = new LineCounters(registry, 'graphite');
    const text = registry.render();
    for (const reason of REJECT_REASONS)
      expect(text).toContain(`carillon_lines_rejected_total{protocol="graphite",reason="${reason}"} 0`);
    counters.accept();
    counters.accept();
    counters.reject('nan_value');
    expect(registry.value('lines_received_total', 'graphite')).toBe(3);
    expect(registry.value('lines_accepted_total', 'graphite')).toBe(2);
    expect(registry.value('lines_rejected_total', 'graphite', 'nan_value')).toBe(1);
    expect(counters.rejected('nan_value').value).toBe(1);
    // A second instance for the same protocol shares the children.
    new LineCounters(registry, 'graphite').reject('nan_value');
    expect(counters.rejected('nan_value').value).toBe(2);
  });

  it('recognizes reasons', () => {
    expect(isRejectReason('invalid_tag')).toBe(true);
    expect(isRejectReason('a.b')).toBe(false);
  });
});

describe('parseDecimal on random decimals', () => {
  it('rounds exactly like Number', () => {
    let seed = 987;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    for (let round = 0; round < 20000; round++) {
      let digits = '';
      const length = 1 + random(18);
      for (let i = 0; i < length; i++) digits += String(random(10));
      const dot = random(length + 1);
      const text = `${random(2) ? '-' : ''}${digits.slice(0, dot)}.${digits.slice(dot)}${random(4) === 0 ? `e${random(40) - 20}` : ''}`;
      expect(parseDecimal(text, 0, text.length), text).toBe(Number(text));
    }
  });
});
