/**
 * The StatsD proxy placement against the `hashring` package itself, configured exactly as the reference proxy
 * (statsd 0.9.0 proxy.js) configures it: the same key → node for 100,000 keys and several cluster sizes.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { StatsdProxyRing, md5Word, statsdProxyKey } from '@carillon/ring';
import { proxyRing } from '../../../test/support/proxy-ring.js';

/** Deterministic keys of the shapes StatsD sees: dotted paths, tagged keys, odd characters, non-ASCII. */
function keys(count: number): string[] {
  let seed = 12345;
  const next = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
  const shapes = [
    (i: number) => `servers.web${i % 97}.cpu.user.${i}`,
    (i: number) => `app.requests.${i}.latency;env=prod;dc=eu${i % 3}`,
    (i: number) => `k${next().toString(36)}${i}`,
    (i: number) => `naïve.ключ.${i}.日本`,
    (i: number) => `with space/slash|${i}`,
    (i: number) => `${'x'.repeat(60 + (i % 50))}.${i}`,
  ];
  return Array.from({ length: count }, (_, i) => shapes[i % shapes.length]!(i));
}

const KEYS = keys(100_000);

describe('StatsdProxyRing', () => {
  it('computes the first word of MD5 like node:crypto for every length around block edges', () => {
    for (let length = 0; length < 200; length++) {
      const bytes = Buffer.from(Array.from({ length }, (_, i) => (i * 31 + length) & 0xff));
      expect(md5Word(bytes), `length ${length}`).toBe(createHash('md5').update(bytes).digest().readUInt32LE(0));
    }
  });

  for (const nodes of [
    ['10.0.0.1:8125'],
    ['127.0.0.1:8127', '127.0.0.1:8129'],
    ['statsd-a:8125', 'statsd-b:8125', 'statsd-c:8125'],
    ['h1:8125', 'h2:8125', 'h3:8125', 'h4:8125', 'h5:8125', 'h6:8125', 'h7:8125'],
    Array.from({ length: 20 }, (_, i) => `10.1.${i}.9:8125`),
  ])
    it(`maps 100,000 keys to the same node as the proxy's hashring for ${nodes.length} node(s)`, () => {
      const reference = proxyRing(nodes);
      const ring = new StatsdProxyRing(nodes);
      const mismatches: string[] = [];
      for (const key of KEYS) if (nodes[ring.nodeOf(key)] !== reference.get(key)) mismatches.push(key);
      expect(mismatches.slice(0, 5)).toEqual([]);
      expect(new Set(KEYS.map((key) => ring.nodeOf(key))).size).toBe(nodes.length);
    });

  it('places the key bytes of a raw line like the proxy, including bytes that are not valid UTF-8', () => {
    const nodes = ['a:1', 'b:2', 'c:3', 'd:4'];
    const reference = proxyRing(nodes);
    const ring = new StatsdProxyRing(nodes);
    const lines = [
      ...KEYS.slice(0, 3000).map((key) => Buffer.from(`${key}:1|c`)),
      Buffer.from([0x61, 0xff, 0xfe, 0x62, 0x3a, 0x31, 0x7c, 0x63]),
      Buffer.from([0xe6, 0x97, 0x3a, 0x31, 0x7c, 0x63]),
    ];
    for (const line of lines) {
      const text = line.toString();
      const key = statsdProxyKey(text);
      const colon = line.indexOf(0x3a);
      expect(nodes[ring.nodeOfBytes(line, 0, colon)], text).toBe(reference.get(key));
    }
  });

  it('matches the proxy after a health check removed a node and added it back (it rejoins at the end)', () => {
    const reference = proxyRing(['a:1', 'b:2', 'c:3']);
    reference.remove('b:2');
    const without = new StatsdProxyRing(['a:1', 'c:3']);
    for (const key of KEYS.slice(0, 20_000)) expect(without.nodes[without.nodeOf(key)]).toBe(reference.get(key));
    reference.add({ 'b:2': 100 });
    const rejoined = new StatsdProxyRing(['a:1', 'c:3', 'b:2']);
    for (const key of KEYS.slice(0, 20_000)) expect(rejoined.nodes[rejoined.nodeOf(key)]).toBe(reference.get(key));
  });

  it('routes by the text before the first colon, and refuses an empty or duplicate node list entry', () => {
    expect(statsdProxyKey('a.b:1|c|#k:v')).toBe('a.b');
    expect(statsdProxyKey('nocolon')).toBe('nocolon');
    expect(new StatsdProxyRing([]).nodeOf('x')).toBe(-1);
    expect(() => new StatsdProxyRing(['a:1', 'a:1'])).toThrow(/duplicate node a:1/);
  });
});
