/**
 * Names that are not valid UTF-8, end to end: a relay and two accumulators on a static member list (no Redis).
 * The relay hashes key bytes, the accumulator the name it decoded; both must take the canonical form (the UTF-8
 * of the decoded name, invalid sequences as U+FFFD) or a share of the names is dropped as misrouted. Every name
 * must be stored exactly once, under its decoded (and, if tagged, canonical) text, on the accumulator the ring
 * names for it.
 */
import { createConnection } from 'node:net';
import { describe, expect, it } from 'vitest';
import { parseMetricName } from '@carillon/core';
import { RingSchedule, murmur3String } from '@carillon/ring';
import { sleep, waitFor } from '../support/wait.js';
import { healthOf, metricValue, startStaticCluster, writtenBy } from './cluster.js';
import { useClusterWorkspace } from './workspace.js';

/** Invalid UTF-8 of every kind the decoder replaces, and one valid sequence for contrast. */
const SEQUENCES = [
  [0x80], // lone continuation byte
  [0xbf, 0xbf],
  [0xc3], // truncated 2-byte
  [0xe2, 0x82], // truncated 3-byte
  [0xf0, 0x9f, 0x98], // truncated 4-byte
  [0xc0, 0xaf], // overlong '/'
  [0xe0, 0x80, 0xaf],
  [0xed, 0xa0, 0x80], // surrogate U+D800 encoded in UTF-8
  [0xed, 0xbf, 0xbf],
  [0xff],
  [0xfe, 0xff],
  [0xf4, 0x90, 0x80, 0x80], // above U+10FFFF
  [0xc3, 0xa9], // valid: é
];

/** Sends raw bytes (not a string: it would be valid UTF-8) over one TCP connection and closes it. */
function sendBytes(port: number, bytes: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: '127.0.0.1', port }, () => socket.end(bytes));
    socket.once('error', reject);
    socket.once('close', () => resolve());
  });
}

describe('names with invalid UTF-8 in a cluster', () => {
  const { root, running } = useClusterWorkspace('invalid-utf8');

  it('stores every one exactly once, on its owner, and nothing is misrouted', async () => {
    const { accumulators: accs, relay, members } = await startStaticCluster(root, ['utf-a', 'utf-b'], running);
    await sleep(500);

    const time = Math.floor(Date.now() / 1000);
    const names: Buffer[] = [];
    for (let i = 0; i < 200; i++) {
      const bad = Buffer.from(SEQUENCES[i % SEQUENCES.length]!);
      // The sequence inside a node, at a node's end, as a whole node, and in a tag (tagged keys are decoded and
      // made canonical on the relay too).
      const shape = Math.floor(i / SEQUENCES.length) % 4;
      const parts =
        shape === 0
          ? [Buffer.from(`utf.n${i}.a`), bad, Buffer.from('b.x')]
          : shape === 1
            ? [Buffer.from(`utf.n${i}.`), bad]
            : shape === 2
              ? [Buffer.from(`utf.`), bad, Buffer.from(`.n${i}`)]
              : [Buffer.from(`utf.n${i};z=1;dc=`), bad];
      names.push(Buffer.concat(parts));
    }
    const lines = names.map((name, i) => Buffer.concat([name, Buffer.from(` ${i + 1} ${time}\n`)]));
    await sendBytes(relay.graphitePort, Buffer.concat(lines));

    for (const a of accs)
      await waitFor(
        `${a.id} flushed through ${time + 1}`,
        async () => ((await healthOf(a)).flushWatermark ?? 0) > time,
        20_000,
      );

    expect(await metricValue(relay.httpPort, 'lines_accepted_total', 'protocol="graphite"')).toBe(names.length);
    expect(await metricValue(relay.httpPort, 'relay_dropped_lines_total')).toBe(0);
    for (const a of accs) expect(await metricValue(a.httpPort, 'accumulator_misrouted_points_total'), a.id).toBe(0);

    // Stored under the decoded name, once, by the owner of that name's UTF-8.
    const ring = RingSchedule.fixed(members);
    const stored = new Map<string, { id: string; sum: number }[]>();
    for (const a of accs)
      for (const r of writtenBy(a))
        if (r.step === 1 && r.time === time)
          stored.set(r.name, [...(stored.get(r.name) ?? []), { id: a.id, sum: r.sum }]);
    const owners = new Set<string>();
    names.forEach((bytes, i) => {
      const key = parseMetricName(bytes.toString('utf8'));
      if (typeof key === 'string') throw new Error(`test name refused: ${key}`);
      const name = key.canonical;
      const owner = ring.ownerFor(murmur3String(name), time)!.id;
      expect(stored.get(name), name).toEqual([{ id: owner, sum: i + 1 }]);
      owners.add(owner);
    });
    expect(stored.size).toBe(names.length);
    expect(owners.size).toBe(2);

    await Promise.all([...accs.map((a) => a.program.stop()), relay.program.stop()]);
  }, 60_000);
});
