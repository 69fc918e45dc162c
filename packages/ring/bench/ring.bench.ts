// Ring hashing and routing throughput, and the ring's measured movement and balance, against the built code.
import { createRequire } from 'node:module';
import { TextEncoder } from 'node:util';
import { HashRing, RingSchedule, keyHash, murmur3, murmur3String } from '@carillon/ring';
import type { BenchRow } from '../../../bench/row.ts';
import { opsPerSecond } from '../../../bench/timing.ts';

// hashring is CommonJS without types; its default config is ketama over md5.
const HashRingKetama = createRequire(import.meta.url)('hashring') as new (servers: string[]) => {
  get(key: string): string | undefined;
};

const KEY_COUNT = 100_000;
const encoder = new TextEncoder();

/** Graphite-like keys of about 30 bytes, packed back to back in one buffer as a relay receives them. */
function keys() {
  const texts = Array.from({ length: KEY_COUNT }, (_, i) => `servers.web${i % 500}.cpu.c${i % 64}.user${i % 97}`);
  const bytes = encoder.encode(texts.join('\n'));
  const starts = new Uint32Array(KEY_COUNT);
  const ends = new Uint32Array(KEY_COUNT);
  let at = 0;
  texts.forEach((text, i) => {
    starts[i] = at;
    const end = at + encoder.encode(text).length;
    ends[i] = end;
    at = end + 1;
  });
  return { texts, bytes, starts, ends, meanBytes: (bytes.length - KEY_COUNT + 1) / KEY_COUNT };
}

/** Operations per second of `pass` (one sweep over the keys), run for about `ms`. */
function rate(pass: () => void, ms = 1000): number {
  return opsPerSecond(KEY_COUNT, pass, ms);
}

const members = (n: number): { id: string; address: string }[] =>
  Array.from({ length: n }, (_, i) => ({ id: `accumulator-${i}`, address: `10.0.0.${i}:7000` }));

export default async function run(): Promise<BenchRow[]> {
  const { texts, bytes, starts, ends, meanBytes } = keys();
  const hashes = new Uint32Array(KEY_COUNT);
  let sink = 0;
  const rows: BenchRow[] = [];

  rows.push({
    name: 'murmur3 over a byte range (in place)',
    value: rate(() => {
      for (let i = 0; i < KEY_COUNT; i++) sink ^= murmur3(bytes, starts[i]!, ends[i]!);
    }),
    unit: 'hashes/s',
    note: `${meanBytes.toFixed(1)}-byte keys`,
  });
  rows.push({
    name: 'keyHash over a byte range (canonical-form check folded in)',
    value: rate(() => {
      for (let i = 0; i < KEY_COUNT; i++) sink ^= keyHash(bytes, starts[i]!, ends[i]!);
    }),
    unit: 'hashes/s',
    note: 'ASCII keys: the relay hot path',
  });
  rows.push({
    name: 'murmur3String (UTF-8 encode + hash)',
    value: rate(() => {
      for (let i = 0; i < KEY_COUNT; i++) sink ^= murmur3String(texts[i]!);
    }),
    unit: 'hashes/s',
  });
  for (let i = 0; i < KEY_COUNT; i++) hashes[i] = murmur3(bytes, starts[i]!, ends[i]!);

  for (const n of [3, 20, 100]) {
    const ring = new HashRing(members(n));
    rows.push({
      name: `HashRing.lookup, ${n} members`,
      value: rate(() => {
        for (let i = 0; i < KEY_COUNT; i++) sink ^= ring.lookup(hashes[i]!);
      }),
      unit: 'lookups/s',
      note: `${ring.points.length} points`,
    });
  }

  const three = members(3);
  const schedule = new RingSchedule([
    { version: 1, effectiveFrom: 1_700_000_000, members: three },
    { version: 2, effectiveFrom: 1_700_000_600, members: [...three, ...members(4).slice(3)] },
  ]);
  rows.push({
    name: 'RingSchedule.ownerFor, 2 versions (resize pending)',
    value: rate(() => {
      for (let i = 0; i < KEY_COUNT; i++)
        sink ^= schedule.ownerFor(hashes[i]!, 1_700_000_000 + (i & 1023))?.id.length ?? 0;
    }),
    unit: 'lookups/s',
  });
  rows.push({
    name: 'hash + route from bytes, 20 members',
    value: (() => {
      const ring = new HashRing(members(20));
      return rate(() => {
        for (let i = 0; i < KEY_COUNT; i++) sink ^= ring.lookup(murmur3(bytes, starts[i]!, ends[i]!));
      });
    })(),
    unit: 'keys/s',
  });
  const ketama = new HashRingKetama(members(20).map((m) => m.address));
  rows.push({
    name: 'npm hashring (ketama, md5) .get, 20 members, for comparison',
    value: rate(() => {
      for (let i = 0; i < KEY_COUNT; i++) sink ^= ketama.get(texts[i]!)?.length ?? 0;
    }),
    unit: 'keys/s',
  });

  const buildStart = process.hrtime.bigint();
  const built = new HashRing(members(20));
  rows.push({
    name: 'HashRing build, 20 members',
    value: Number(process.hrtime.bigint() - buildStart) / 1e6,
    unit: 'ms',
    note: `${built.points.length} points`,
  });

  // Movement and balance over 200k keys: the figures the unit tests bound.
  const sample = Uint32Array.from({ length: 200_000 }, (_, i) => murmur3String(`stats.app${i % 211}.timer${i}.p99`));
  let worstMaxMean = 0;
  let worstMoveError = 0;
  for (let n = 3; n <= 20; n++) {
    const before = new HashRing(members(n));
    const after = new HashRing(members(n + 1));
    const load = new Array<number>(n).fill(0);
    let moved = 0;
    for (const h of sample) {
      const owner = before.lookup(h);
      load[owner] = (load[owner] ?? 0) + 1;
      if (after.lookup(h) !== owner) moved++;
    }
    worstMaxMean = Math.max(worstMaxMean, Math.max(...load) / (sample.length / n));
    worstMoveError = Math.max(worstMoveError, Math.abs((moved / sample.length) * (n + 1) - 1));
  }
  rows.push({ name: 'worst max/mean load, 3..20 members', value: worstMaxMean, unit: 'ratio', note: '200k keys' });
  rows.push({
    name: 'worst |moved - ideal| / ideal, N → N+1 for N = 3..20',
    value: worstMoveError,
    unit: 'fraction',
    note: 'ideal = 1/(N+1)',
  });

  if (sink === 0.5) console.log(sink); // keeps the work observable
  return rows;
}
