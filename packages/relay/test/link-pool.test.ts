/**
 * A member that leaves every ring version and comes back (Redis restarted without the ring, a pod rescheduled at a
 * new address) keeps the accumulator's dedupe of this relay: its new link must go on above the old link's
 * sequences, or the accumulator drops the new batches as replays and their lines are lost.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MetricsRegistry } from '@carillon/core';
import { RingSchedule, type RingMember } from '@carillon/ring';
import { DEFAULT_LINK_OPTIONS, relayIdentityFromKey, startIngestServer } from '@carillon/transport';
import { LinkPool } from '../src/link-pool.js';
import { RecordingHandler } from '../../../test/support/recording.js';
import { waitFor } from '../../../test/support/wait.js';

const IDENTITY = relayIdentityFromKey(Buffer.alloc(32, 9), 'relay-host', 1);
const NOW = 1_700_000_000_000;
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function accumulator(handler: RecordingHandler): Promise<RingMember> {
  const server = await startIngestServer(
    { host: '127.0.0.1', port: 0, maxMessageBytes: 4 << 20, keepaliveTimeMs: 10_000, keepaliveTimeoutMs: 5_000 },
    handler,
    new MetricsRegistry(),
  );
  cleanups.push(() => server.close());
  return { id: 'acc-1', address: `127.0.0.1:${server.port}` };
}

function send(pool: LinkPool, member: RingMember, text: string): void {
  const link = pool.linkByKey(`${member.id}@${member.address}`)!;
  link.append('graphite', Buffer.from(text), NOW, 1);
  link.flush();
}

function linkPool(): LinkPool {
  const pool = new LinkPool(
    IDENTITY,
    { ...DEFAULT_LINK_OPTIONS, backoffInitialMs: 20, backoffMaxMs: 200, closeTimeoutMs: 2000 },
    new MetricsRegistry(),
  );
  cleanups.push(() => pool.close());
  return pool;
}

describe('LinkPool', () => {
  it('gives a member that left and came back a link that goes on above the old sequences', async () => {
    const handler = new RecordingHandler('acc-1', { durableOnProcess: true });
    const member = await accumulator(handler);
    const pool = linkPool();
    pool.update(RingSchedule.fixed([member]));
    send(pool, member, 'before.a 1 1700000000');
    send(pool, member, 'before.b 1 1700000000');
    await waitFor('two batches before', () => handler.batches.length === 2);

    pool.update(new RingSchedule([])); // Redis lost the ring: no version names the member
    pool.update(RingSchedule.fixed([member])); // it registered again
    send(pool, member, 'after.a 1 1700000000');
    await waitFor('the batch after the member came back', () => handler.lines().includes('after.a 1 1700000000'));
    expect(handler.batches.map((b) => b.sequence)).toEqual([1, 2, 3]);
  });

  it('carries the sequences over to a member that came back at another address', async () => {
    const handler = new RecordingHandler('acc-1', { durableOnProcess: true });
    const member = await accumulator(handler);
    const pool = linkPool();
    pool.update(RingSchedule.fixed([member]));
    send(pool, member, 'before.a 1 1700000000');
    await waitFor('the batch before', () => handler.batches.length === 1);

    // The same accumulator, reached through another name for loopback: a new link key, the same member id.
    const moved = { id: member.id, address: member.address.replace('127.0.0.1', 'localhost') };
    pool.update(RingSchedule.fixed([moved]));
    send(pool, moved, 'after.a 1 1700000000');
    await waitFor('the batch at the new address', () => handler.lines().includes('after.a 1 1700000000'));
    expect(handler.batches.map((b) => b.sequence)).toEqual([1, 2]);
  });
});
