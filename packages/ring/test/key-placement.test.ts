/**
 * The one Placement: string and byte forms agree, StatsD follows `ring.placement`, and a key with invalid UTF-8
 * gets the same owner whether hashed from the relay's raw bytes or from the accumulator's decoded name.
 */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import {
  KeyOwner,
  Placement,
  RingSchedule,
  StatsdProxyRing,
  keyHash,
  murmur3,
  murmur3String,
  type RingMember,
} from '@carillon/ring';

const members: RingMember[] = Array.from({ length: 5 }, (_, i) => ({ id: `acc-${i}`, address: `10.0.0.${i}:7000` }));
const schedule = RingSchedule.fixed(members);
const carillon = new Placement({ schedule: () => schedule });

/** Invalid UTF-8, each kind the decoder replaces: where relay bytes and accumulator text used to disagree. */
const INVALID_UTF8: Record<string, number[]> = {
  'lone continuation': [0x80],
  'continuation run': [0xbf, 0x80, 0xbf],
  'truncated 2-byte': [0xc3],
  'truncated 3-byte': [0xe2, 0x82],
  'truncated 4-byte': [0xf0, 0x9f, 0x98],
  'overlong /': [0xc0, 0xaf],
  'overlong 3-byte': [0xe0, 0x80, 0xaf],
  'overlong 4-byte': [0xf0, 0x80, 0x80, 0xaf],
  'high surrogate': [0xed, 0xa0, 0x80],
  'low surrogate': [0xed, 0xbf, 0xbf],
  'surrogate pair': [0xed, 0xa0, 0xbd, 0xed, 0xb8, 0x80],
  'above U+10FFFF': [0xf4, 0x90, 0x80, 0x80],
  '0xFF': [0xff],
  '0xFE 0xFF': [0xfe, 0xff],
  '5-byte form': [0xf8, 0x88, 0x80, 0x80, 0x80],
  'lead then ASCII': [0xe2, 0x28, 0xa1],
};

/** `servers.<i>.<bytes>.cpu` with the key inside a larger buffer, as the relay sees it. */
function keyBytes(i: number, bytes: number[]): { buf: Buffer; start: number; end: number } {
  const key = Buffer.concat([Buffer.from(`servers.h${i}.`), Buffer.from(bytes), Buffer.from('.cpu')]);
  const buf = Buffer.concat([Buffer.from('xx'), key, Buffer.from(' 1 100\n')]);
  return { buf, start: 2, end: 2 + key.length };
}

describe('keyHash (the canonical key bytes)', () => {
  it('is MurmurHash3 of the bytes themselves for ASCII and valid UTF-8', () => {
    for (const text of ['a.b.c', 'servers.web-1.cpu', 'temp.°C', 'ключ.метрика', 'emoji.😀.x', '']) {
      const buf = Buffer.from(`  ${text}  `);
      expect(keyHash(buf, 2, buf.length - 2), text).toBe(murmur3(buf, 2, buf.length - 2));
      expect(keyHash(buf, 2, buf.length - 2), text).toBe(murmur3String(text));
    }
  });

  it('hashes invalid UTF-8 as the UTF-8 of its decoded text (U+FFFD for each bad sequence)', () => {
    for (const [kind, bytes] of Object.entries(INVALID_UTF8)) {
      const { buf, start, end } = keyBytes(0, bytes);
      const decoded = buf.toString('utf8', start, end);
      expect(decoded, kind).toContain('\uFFFD');
      expect(keyHash(buf, start, end), kind).toBe(murmur3String(decoded));
      expect(keyHash(buf, start, end), kind).not.toBe(murmur3(buf, start, end));
    }
  });
});

describe('Placement', () => {
  it('gives the relay (bytes) and the accumulator (decoded name) the same owner for invalid UTF-8', () => {
    const relay = new KeyOwner();
    const owners = new Set<string>();
    for (let i = 0; i < 40; i++)
      for (const [kind, bytes] of Object.entries(INVALID_UTF8)) {
        const { buf, start, end } = keyBytes(i, bytes);
        const routed = carillon.graphiteOwnerOfBytes(buf, start, end, 100, relay).member?.id;
        // The accumulator decodes the whole line, then parses the name out of it.
        const name = buf
          .toString('utf8', 0, buf.length - 1)
          .split(' ')[0]!
          .slice(2);
        expect(routed, `${kind} #${i}`).toBe(carillon.graphiteOwner(name, 100).member?.id);
        owners.add(routed!);
      }
    expect(owners.size).toBe(members.length);
  });

  it('answers as the schedule does, in string and byte form, at each time', () => {
    const two = new RingSchedule([
      { version: 1, effectiveFrom: 0, members: members.slice(0, 3) },
      { version: 2, effectiveFrom: 600, members: members.slice(2) },
    ]);
    const placement = new Placement({ schedule: () => two });
    for (let i = 0; i < 200; i++) {
      const name = `k.${i}`;
      const buf = Buffer.from(name);
      for (const time of [599, 600]) {
        const owner = placement.graphiteOwner(name, time);
        expect(owner.member).toBe(two.ownerFor(murmur3String(name), time));
        expect(owner.version?.version).toBe(time < 600 ? 1 : 2);
        expect(placement.graphiteOwnerOfBytes(buf, 0, buf.length, time).member).toBe(owner.member);
        // Under carillon a StatsD name is placed like a Graphite key, whatever the raw line.
        expect(placement.statsdOwner(`${name};x=y:1|c`, name, time).member).toBe(owner.member);
        expect(placement.statsdOwnerOfBytes(buf, 0, buf.length, undefined, time).member).toBe(owner.member);
        expect(placement.ownsStatsdKey(owner.member!.id, name, time)).toBe(true);
      }
    }
    expect(new Placement({ schedule: () => new RingSchedule([]) }).graphiteOwner('a', 1).member).toBeUndefined();
  });

  it('places StatsD lines as the reference proxy does under statsd-proxy, Graphite keys on the ring', () => {
    const HashRing = createRequire(import.meta.url)('hashring') as new (
      servers: Record<string, number>,
      algorithm: string,
      options: Record<string, number>,
    ) => { get(key: string): string };
    const nodes = ['statsd-a:8125', 'statsd-b:8125', 'statsd-c:8125'];
    const static3 = nodes.map((id, i) => ({ id, address: `127.0.0.1:${7000 + i}` }));
    // Listed in another order than the proxy's: the proxy's order decides, the ring's member order must not.
    const fixed = RingSchedule.fixed([...static3].reverse());
    const placement = Placement.of({ placement: 'statsd-proxy', staticMembers: static3 }, () => fixed);
    expect(placement.statsdByLine).toBe(true);
    const reference = new HashRing(Object.fromEntries(nodes.map((n) => [n, 100])), 'md5', { replicas: 0 });
    for (let i = 0; i < 300; i++) {
      const line = `odd key/${i};t=v:${i}|c`;
      const key = line.slice(0, line.indexOf(':'));
      const buf = Buffer.from(line);
      expect(placement.statsdOwner(line, 'ignored', 5).member?.id).toBe(reference.get(key));
      expect(placement.statsdOwnerOfBytes(buf, 0, key.length, undefined, 5).member?.id).toBe(reference.get(key));
      expect(placement.graphiteOwner(key, 5).member).toBe(fixed.ownerFor(murmur3String(key), 5));
    }
    // A node the version in force does not have owns nothing: the relay could not send there.
    const without = RingSchedule.fixed(static3.slice(1));
    const narrowed = Placement.of({ placement: 'statsd-proxy', staticMembers: static3 }, () => without);
    for (let i = 0; i < 100; i++) {
      const owner = narrowed.statsdOwner(`k${i}:1|c`, `k${i}`, 5).member?.id;
      if (reference.get(`k${i}`) === nodes[0]) expect(owner).toBeUndefined();
      else expect(owner).toBe(reference.get(`k${i}`));
    }
    // Kept StatsD state never moves under the static proxy list.
    expect(placement.ownsStatsdKey('statsd-a:8125', 'anything', 5)).toBe(true);
  });

  it('needs the proxy ring under statsd-proxy', () => {
    expect(() => new Placement({ schedule: () => schedule, statsd: 'statsd-proxy' })).toThrowError('proxy ring');
    const proxy = new StatsdProxyRing(['a:1']);
    expect(new Placement({ schedule: () => schedule, statsd: 'statsd-proxy', statsdProxy: proxy }).statsdByLine).toBe(
      true,
    );
  });
});
