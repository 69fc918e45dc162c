/**
 * The pickle machine against python's own pickle, by difference: python3 makes several hundred metric lists in
 * every protocol (0-5; tuples and lists, ints, longs, floats, numeric strings, booleans, unicode paths, shared
 * memo entries) and says what carbon's receiver makes of each (`float(ts)`, `float(value)`); carillon must read
 * the same points from the same bytes. Objects whose pickles run code must be refused. Needs python3.
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { DEFAULT_PICKLE_LIMITS, parsePickleFrame } from '@carillon/protocols';

const SCRIPT = String.raw`
import json, pickle, random, sys, collections, datetime
rng = random.Random(20261201)
paths = ['a.b.c', 'servers.web-1.cpu_user', 'ünïcode.ключ.値', 'x', 'tagged.m;dc=eu;host=a', 'long.' + 'n' * 200]
def number():
    kind = rng.randrange(6)
    if kind == 0: return rng.randrange(-2**31, 2**31)
    if kind == 1: return rng.randrange(2**40, 2**62)
    if kind == 2: return rng.uniform(-1e12, 1e12)
    if kind == 3: return repr(rng.uniform(-1e6, 1e6))
    if kind == 4: return rng.choice([True, False])
    return rng.randrange(0, 256)
cases = []
for i in range(400):
    shared = (rng.randrange(1_600_000_000, 1_800_000_000), number())
    items = []
    for j in range(rng.randrange(0, 12)):
        dp = shared if rng.random() < 0.2 else (rng.randrange(1_600_000_000, 1_800_000_000), number())
        if rng.random() < 0.5: dp = list(dp)
        item = (rng.choice(paths), dp)
        if rng.random() < 0.5: item = list(item)
        items.append(item)
    data = items if rng.random() < 0.8 else tuple(items)
    protocol = i % 6
    frame = pickle.dumps(list(data), protocol=protocol)
    expected = [{'path': p, 'timestamp': float(d[0]), 'value': float(d[1])} for p, d in data]
    cases.append({'protocol': protocol, 'frame': frame.hex(), 'expected': expected})
unsafe = [pickle.dumps(o, protocol=p).hex() for p in range(6) for o in
          [collections.OrderedDict(a=1), datetime.date(2026, 12, 1), {'a': 1}, {1, 2}, b'x' * 3 if p < 3 else range(3)]]
json.dump({'cases': cases, 'unsafe': unsafe}, sys.stdout)
`;

interface Reference {
  cases: { protocol: number; frame: string; expected: { path: string; timestamp: number; value: number }[] }[];
  unsafe: string[];
}

function reference(): Reference {
  try {
    return JSON.parse(execFileSync('python3', ['-c', SCRIPT], { encoding: 'utf8', maxBuffer: 64 << 20 })) as Reference;
  } catch (error) {
    throw new Error(`python3 is needed to make the reference pickles: ${(error as Error).message}`);
  }
}

describe('pickle frames, by difference with python', () => {
  const ref = reference();

  it('reads every metric list as carbon does, in every protocol', () => {
    expect(ref.cases.length).toBe(400);
    for (const c of ref.cases)
      expect(parsePickleFrame(Buffer.from(c.frame, 'hex'), DEFAULT_PICKLE_LIMITS), `protocol ${c.protocol}`).toEqual(
        c.expected,
      );
  });

  it('refuses dicts, sets, and objects whose pickles call code', () => {
    for (const frame of ref.unsafe) {
      const result = parsePickleFrame(Buffer.from(frame, 'hex'), DEFAULT_PICKLE_LIMITS);
      expect(['unsafe_opcode', 'not_a_metric_list'], frame).toContain(result);
    }
  });
});
