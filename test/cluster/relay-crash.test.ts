/**
 * A relay with its spool killed -9 with batches in every state, then started again on the same spool, under CPU
 * contention: batches the accumulators had processed but not made durable (they are sent again under the same
 * relay id and sequence, and dropped as duplicates), batches never sent, and lines still in open batches (their
 * batch delay is long here) are all delivered once. Every Graphite (key, window) at both resolutions equals the
 * single-process oracle. The accumulators' grace is long enough for the restart, so this tests the spool, not
 * late points (see chaos.external.test.ts for both together).
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { windowStart } from '@carillon/core';
import { getJson } from '../e2e/programs.js';
import { sleep, waitFor } from '../support/wait.js';
import { LineSender, STEPS, healthOf, metricValue, restartRelay, startStaticCluster, type Relay } from './cluster.js';
import { SecondlyTraffic } from './traffic.js';
import { NO_PROBLEMS, collectWritten, compareWithOracle } from './written.js';
import { useClusterWorkspace } from './workspace.js';

const COARSE = STEPS[STEPS.length - 1]!;

interface Depth {
  queuedBatches: number;
  openBatchBytes: number;
  durableSequence: number;
  lastSequence: number;
}

describe('cluster: a relay killed -9 and restarted on its spool', () => {
  const { root, running, contend } = useClusterWorkspace('relaycrash');
  const contention = contend(2, 90_000);

  it('delivers every line it read exactly once: none lost, none counted twice', async () => {
    const spoolDir = join(root, 'spool');
    const { accumulators, relay: first } = await startStaticCluster(
      root,
      ['rc-0', 'rc-1'],
      running,
      undefined,
      { 'wal.dir': '<dataDir>/wal', 'aggregator.grace': '12s' },
      // Small segments, so some are deleted once durable while the test runs; a long batch delay, so the kill
      // finds lines in open batches.
      { 'spool.dir': spoolDir, 'spool.segment_bytes': '65536', 'link.max_batch_delay': '3500ms' },
    );
    let relay: Relay = first;
    let sender: LineSender | undefined = await LineSender.open(relay.graphitePort);
    const keys = Array.from({ length: 800 }, (_, i) => `rc.host${i % 20}.metric${i}`);
    const traffic = new SecondlyTraffic([{ sender: () => sender, keys }]);
    const sending = traffic.run(40);

    await sleep(15_500);
    // Right after a round: its lines wait in open batches (the batch delay, 3.5 s, fires half a second after rounds arrive) when the relay dies.
    const before = traffic.sent[0]!;
    await waitFor('a round sent', () => traffic.sent[0]! > before, 5000, 5);
    await traffic.pause(0);
    // Everything sent was read (and so spooled) before the kill: the lines in the socket are not the relay's.
    await waitFor(
      'the relay to read every line sent',
      async () =>
        (await metricValue(relay.httpPort, 'lines_received_total', 'protocol="graphite"')) === traffic.sent[0],
      10_000,
    );
    const depths = (await getJson<{ destinations: Depth[] }>(`http://127.0.0.1:${relay.httpPort}/ring`)).destinations;
    relay.program.child.kill('SIGKILL');
    await new Promise((resolve) => relay.program.child.once('exit', resolve));
    await sender.close();
    sender = undefined;
    // At the kill some batches were not durable, and some lines not even in a closed batch.
    expect(depths.some((d) => d.queuedBatches > 0)).toBe(true);
    expect(depths.some((d) => d.openBatchBytes > 0)).toBe(true);
    expect(readdirSync(spoolDir).filter((f) => f.endsWith('.wal')).length).toBeGreaterThan(0);

    relay = await restartRelay(relay);
    running.push(relay);
    sender = await LineSender.open(relay.graphitePort);
    traffic.resume(0);
    await sleep(6000);
    traffic.stop();
    await sending;
    await sender.close();
    contention.stop();
    const through = windowStart(traffic.lastSecond, COARSE) + COARSE;
    for (const a of accumulators)
      await waitFor(
        `${a.id} flushed through ${through}`,
        async () => ((await healthOf(a)).flushWatermark ?? 0) >= through,
        40_000,
        200,
      );

    // The restarted relay sent the batches that were not durable again, and the lines never sent as new.
    expect(await metricValue(relay.httpPort, 'relay_spool_replayed_lines_total', 'outcome="resent"')).toBeGreaterThan(
      0,
    );
    expect(await metricValue(relay.httpPort, 'relay_spool_replayed_lines_total', 'outcome="new"')).toBeGreaterThan(0);
    expect(await metricValue(relay.httpPort, 'relay_spool_replayed_lines_total', 'outcome="no_destination"')).toBe(0);
    let duplicates = 0;
    for (const a of accumulators) {
      duplicates += await metricValue(a.httpPort, 'ingest_duplicate_batches_total');
      expect(await metricValue(a.httpPort, 'aggregator_late_points_total')).toBe(0);
      expect(await metricValue(a.httpPort, 'accumulator_misrouted_points_total')).toBe(0);
    }
    // Batches processed before the kill and sent again were recognised.
    expect(duplicates).toBeGreaterThan(0);
    expect(await metricValue(relay.httpPort, 'relay_spool_deleted_segments_total')).toBeGreaterThan(0);

    const { problems, counts } = compareWithOracle(collectWritten(accumulators), traffic.oracle.statPoints(STEPS));
    expect({ problems, counts }).toEqual({
      problems: NO_PROBLEMS,
      counts: { twoOwners: 0, wrong: 0, missing: 0, extra: 0 },
    });
    expect(traffic.oracle.pointCount).toBeGreaterThan(15_000);
    await Promise.all([...accumulators.map((a) => a.program.stop()), relay.program.stop()]);
  }, 150_000);
});
