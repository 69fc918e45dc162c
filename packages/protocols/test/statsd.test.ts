import { describe, expect, it } from 'vitest';
import type { StatsdSample } from '@carillon/core';
import {
  KeyLocation,
  locateStatsdKey,
  parseStatsdLine,
  statsdCanonicalName,
  type RejectReason,
} from '@carillon/protocols';

type Expected = Partial<StatsdSample> & Pick<StatsdSample, 'name' | 'type'>;

function sample(expected: Expected): StatsdSample {
  return { value: NaN, member: '', sampleRate: 1, gaugeDelta: false, ...expected };
}

function parse(line: string): StatsdSample[] | RejectReason {
  const out: StatsdSample[] = [];
  const reason = parseStatsdLine(line, out);
  return reason ?? out;
}

describe('parseStatsdLine accepts', () => {
  it.each<[string, Expected[]]>([
    ['a.b:1|c', [{ name: 'a.b', type: 'c', value: 1 }]],
    ['a.b:-3.5|c', [{ name: 'a.b', type: 'c', value: -3.5 }]],
    ['a.b:2|c|@0.1', [{ name: 'a.b', type: 'c', value: 2, sampleRate: 0.1 }]],
    ['a.b:2|c|@1', [{ name: 'a.b', type: 'c', value: 2, sampleRate: 1 }]],
    ['g:42|g', [{ name: 'g', type: 'g', value: 42 }]],
    ['g:+4|g', [{ name: 'g', type: 'g', value: 4, gaugeDelta: true }]],
    ['g:-4|g', [{ name: 'g', type: 'g', value: -4, gaugeDelta: true }]],
    ['t:320|ms', [{ name: 't', type: 'ms', value: 320 }]],
    ['t:320|ms|@0.5', [{ name: 't', type: 'ms', value: 320, sampleRate: 0.5 }]],
    ['h:-1.5|h', [{ name: 'h', type: 'h', value: -1.5 }]],
    ['d:7|d', [{ name: 'd', type: 'd', value: 7 }]],
    ['u:alice|s', [{ name: 'u', type: 's', member: 'alice' }]],
    ['u:|s', [{ name: 'u', type: 's', member: '0' }]],
    [
      'a:1:2:3|c',
      [
        { name: 'a', type: 'c', value: 1 },
        { name: 'a', type: 'c', value: 2 },
        { name: 'a', type: 'c', value: 3 },
      ],
    ],
    [
      'a:1|c:2|ms|@0.5',
      [
        { name: 'a', type: 'c', value: 1 },
        { name: 'a', type: 'ms', value: 2, sampleRate: 0.5 },
      ],
    ],
    [
      'a:1:2|ms|@0.25',
      [
        { name: 'a', type: 'ms', value: 1, sampleRate: 0.25 },
        { name: 'a', type: 'ms', value: 2, sampleRate: 0.25 },
      ],
    ],
    // Reference sanitizing: whitespace runs → _, / → -, anything else outside [a-zA-Z0-9_\-.;=] dropped.
    ['my key:1|c', [{ name: 'my_key', type: 'c', value: 1 }]],
    ['my \t key:1|c', [{ name: 'my_key', type: 'c', value: 1 }]],
    ['a \u0001 b:1|c', [{ name: 'a__b', type: 'c', value: 1 }]],
    ['a/b:1|c', [{ name: 'a-b', type: 'c', value: 1 }]],
    ['a!b@c#d(e)*:1|c', [{ name: 'abcde', type: 'c', value: 1 }]],
    ['héllo:1|c', [{ name: 'hllo', type: 'c', value: 1 }]],
    ['a\u00a0b:1|c', [{ name: 'a_b', type: 'c', value: 1 }]],
    // Graphite tags in the key survive sanitizing, as in the reference daemon.
    ['a;z=1;b=2:1|c', [{ name: 'a;b=2;z=1', type: 'c', value: 1 }]],
    // DogStatsD tags.
    ['a:1|c|#env:prod,app:web', [{ name: 'a;app=web;env=prod', type: 'c', value: 1 }]],
    ['a:1|c|@0.5|#env:prod', [{ name: 'a;env=prod', type: 'c', value: 1, sampleRate: 0.5 }]],
    ['a:1|c|#canary', [{ name: 'a;canary=true', type: 'c', value: 1 }]],
    ['a:1|c|#env:a,env:b', [{ name: 'a;env=b', type: 'c', value: 1 }]],
    ['a;env=x:1|c|#env:y', [{ name: 'a;env=y', type: 'c', value: 1 }]],
    ['a:1|c|#k:v:w', [{ name: 'a;k=vw', type: 'c', value: 1 }]],
    ['a:1|c|#k:a=b', [{ name: 'a;k=a=b', type: 'c', value: 1 }]],
    ['a:1|c|#my tag:x/y', [{ name: 'a;my_tag=x-y', type: 'c', value: 1 }]],
    ['a:1|c|#k;x:v;y', [{ name: 'a;k_x=v_y', type: 'c', value: 1 }]],
    ['a:1|c|#a:b,,c:d', [{ name: 'a;a=b;c=d', type: 'c', value: 1 }]],
    ['a:1|c|#', [{ name: 'a', type: 'c', value: 1 }]],
    ['a:1|c|#name:x', [{ name: 'a', type: 'c', value: 1 }]],
    ['a:1|c|#k:v|c:abc:123', [{ name: 'a;k=v', type: 'c', value: 1 }]],
    ['a:1|c|c:abc:123', [{ name: 'a', type: 'c', value: 1 }]],
    ['a:1|c \t', [{ name: 'a', type: 'c', value: 1 }]],
  ])('%j', (line, expected) => {
    expect(parse(line)).toEqual(expected.map(sample));
  });
});

describe('parseStatsdLine refuses', () => {
  it.each<[string, RejectReason]>([
    ['', 'malformed_line'],
    ['a.b', 'malformed_line'],
    ['a.b:', 'malformed_line'],
    ['a.b:1', 'malformed_line'],
    ['a.b:1|', 'malformed_line'],
    ['a.b:1|c:', 'malformed_line'],
    ['a.b:1|c|x', 'malformed_line'],
    ['a.b:1|c|T1656581400', 'malformed_line'],
    ['a:1|c|#k:v|@0.5', 'malformed_line'],
    ['foo|#a:b', 'malformed_line'],
    ['a.b:1|x', 'unknown_type'],
    ['a.b:1|cc', 'unknown_type'],
    ['a.b:1|m', 'unknown_type'],
    ['a.b:1|C', 'unknown_type'],
    ['a.b:x|c', 'invalid_value'],
    ['a.b:|c', 'invalid_value'],
    ['a.b:|g', 'invalid_value'],
    ['a.b: 1|c', 'invalid_value'],
    ['a.b:0x10|c', 'invalid_value'],
    ['a.b:inf|g', 'invalid_value'],
    ['a.b:-5|ms', 'invalid_value'],
    ['a.b:1:x:3|c', 'invalid_value'],
    ['a.b:nan|c', 'nan_value'],
    ['a.b:1|c|@0', 'invalid_sample_rate'],
    ['a.b:1|c|@1.5', 'invalid_sample_rate'],
    ['a.b:1|c|@-0.5', 'invalid_sample_rate'],
    ['a.b:1|c|@', 'invalid_sample_rate'],
    ['a.b:1|c|@x', 'invalid_sample_rate'],
    // 1/1e-320 overflows: the counter would be +Infinity.
    ['a.b:1|c|@1e-320', 'invalid_sample_rate'],
    [':1|c', 'invalid_path'],
    ['!!!:1|c', 'invalid_path'],
    ['a..b:1|c', 'invalid_path'],
    ['.a:1|c', 'invalid_path'],
    ['a;k:1|c', 'invalid_tag'],
    ['a:1|c|#:v', 'invalid_tag'],
    ['a:1|c|#k:', 'invalid_tag'],
    ['a:1|c|#k:!!', 'invalid_tag'],
  ])('%j → %s', (line, reason) => {
    expect(parse(line)).toBe(reason);
  });

  it('leaves earlier samples alone when a later line is refused', () => {
    const out: StatsdSample[] = [];
    expect(parseStatsdLine('a:1|c', out)).toBeUndefined();
    expect(parseStatsdLine('b:1:2:x|c', out)).toBe('invalid_value');
    expect(parseStatsdLine('c:1|c:2|zz', out)).toBe('unknown_type');
    expect(out).toEqual([sample({ name: 'a', type: 'c', value: 1 })]);
  });

  it('does not mistake a metric named like a reason for a refusal', () => {
    expect(parse('invalid_path:1|c')).toEqual([sample({ name: 'invalid_path', type: 'c', value: 1 })]);
    expect(statsdCanonicalName('invalid_tag:1|c')).toEqual({ name: 'invalid_tag' });
  });
});

describe('statsdCanonicalName', () => {
  it.each<[string, { name: string } | RejectReason]>([
    ['a.b:1|c', { name: 'a.b' }],
    ['my key:1|c|#b:2,a:1', { name: 'my_key;a=1;b=2' }],
    ['a..b:1|c', 'invalid_path'],
    ['a.b', 'malformed_line'],
  ])('%j', (line, expected) => {
    expect(statsdCanonicalName(line)).toEqual(expected);
  });
});

describe('locateStatsdKey', () => {
  const encoder = new TextEncoder();
  const locate = (line: string): { key: string; canonical: boolean } | RejectReason => {
    const padded = encoder.encode(`##${line}##`);
    const location = locateStatsdKey(padded, 2, padded.length - 2);
    if (typeof location === 'string') return location;
    return {
      key: new TextDecoder().decode(padded.subarray(location.keyStart, location.keyEnd)),
      canonical: location.canonical,
    };
  };

  it.each<[string, { key: string; canonical: boolean } | RejectReason]>([
    ['a.b-c_D9:1|c', { key: 'a.b-c_D9', canonical: true }],
    ['a.b:1|c|@0.1', { key: 'a.b', canonical: true }],
    ['my key:1|c', { key: 'my key', canonical: false }],
    ['a;k=v:1|c', { key: 'a;k=v', canonical: false }],
    ['héllo:1|c', { key: 'héllo', canonical: false }],
    ['a.b:1|c|#k:v', { key: 'a.b', canonical: false }],
    ['a.b', 'malformed_line'],
    ['a.b:1', 'malformed_line'],
    [':1|c', 'invalid_path'],
    ['a..b:1|c', 'invalid_path'],
    ['a.:1|c', 'invalid_path'],
  ])('%j', (line, expected) => {
    expect(locate(line)).toEqual(expected);
  });

  it('gives canonical bytes only when they equal the parsed name', () => {
    const lines = ['a.b-c_D9:1|c', 'x:1:2|ms', 'my key:1|c', 'a;k=v:1|c', 'a.b:1|c|#k:v', 'a/b:1|g'];
    for (const line of lines) {
      const location = locate(line);
      const samples = parse(line);
      if (typeof location === 'string' || typeof samples === 'string') throw new Error(`${line} refused`);
      // Canonical bytes must equal the name; a key not known as canonical may still happen to equal it.
      if (location.canonical) expect(location.key).toBe(samples[0]!.name);
      else expect(location.key === samples[0]!.name).toBe(line === 'a;k=v:1|c');
    }
  });

  it('reuses the result object it is given', () => {
    const out = new KeyLocation();
    const bytes = encoder.encode('a:1|c');
    expect(locateStatsdKey(bytes, 0, bytes.length, out)).toBe(out);
  });
});

describe('key sanitizing matches the reference daemon', () => {
  // Copied from statsd 0.9.0 stats.js (sanitizeKeyName); the oracle for the char-loop version.
  const referenceSanitize = (key: string): string =>
    key
      .replace(/\s+/g, '_')
      .replace(/\//g, '-')
      .replace(/[^a-zA-Z_\-0-9.;=]/g, '');
  const alphabet = [
    'a',
    'Z',
    '9',
    '_',
    '-',
    '.',
    ' ',
    '\t',
    '\u00a0',
    '\u2003',
    '/',
    '!',
    '@',
    'é',
    '\u0001',
    '=',
    '😀',
  ];

  it('on random keys', () => {
    let seed = 12345;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    for (let round = 0; round < 2000; round++) {
      let key = '';
      const length = 1 + random(12);
      for (let i = 0; i < length; i++) key += alphabet[random(alphabet.length)];
      const expected = referenceSanitize(key);
      const result = parse(`${key}:1|c`);
      const valid = /^[^.]+(\.[^.]+)*$/.test(expected);
      expect(result, JSON.stringify(key)).toEqual(
        valid ? [sample({ name: expected, type: 'c', value: 1 })] : 'invalid_path',
      );
    }
  });
});
