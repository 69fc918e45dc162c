/**
 * A relay buffering through a five-minute accumulator outage delivers everything after it (issue 17): three
 * accumulators (static members, write-ahead logs on) behind one relay with its spool; one accumulator is killed
 * -9 and started again five minutes later while traffic goes on. The relay keeps that member's batches the whole
 * time (within link.max_unacked_bytes and spool.max_bytes, whose drops are counted and must stay at zero), and
 * after the restart every Graphite (key, window) at both resolutions over all members equals the oracle. The
 * replay and the catch-up run under CPU contention.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { windowStart } from '@carillon/core';
import { getJson } from '../e2e/programs.js';
import { sleep, waitFor } from '../support/wait.js';
import { LineSender, STEPS, healthOf, metricValue, restartAccumulator, startStaticCluster } from './cluster.js';
import { SecondlyTraffic } from './traffic.js';
import { NO_PROBLEMS, collectWritten, compareWithOracle } from './written.js';
import { useClusterWorkspace } from './workspace.js';

const COARSE = STEPS[STEPS.length - 1]!;
const OUTAGE_MS = 5 * 60_000;

interface Depth {
  destination: string;
  queuedBytes: number;
  connected: boolean;
}

describe('cluster: a five-minute accumulator outage', () => {
  const { root, running, contend } = useClusterWorkspace('outage');

  it('the relay keeps the member’s lines through it and delivers all of them after: zero lost', async () => {
    const { accumulators, relay } = await startStaticCluster(
      root,
      ['out-0', 'out-1', 'out-2'],
      running,
      undefined,
      // The shipped replay wait (the cluster helpers shorten it): the first flush after the restart waits this long
      // for the relays to send what they kept, which five minutes of this traffic takes well under.
      { 'wal.dir': '<dataDir>/wal', 'durability.replay_wait': '15s' },
      { 'spool.dir': join(root, 'spool'), 'spool.segment_bytes': '1048576' },
    );
    const sender = await LineSender.open(relay.graphitePort);
    const keys = Array.from({ length: 600 }, (_, i) => `outage.host${i % 20}.metric${i}`);
    const traffic = new SecondlyTraffic([{ sender: () => sender, keys }]);
    const sending = traffic.run(400);

    await sleep(8000);
    const victim = accumulators[1]!;
    victim.program.child.kill('SIGKILL');
    await new Promise((resolve) => victim.program.child.once('exit', resolve));
    await sleep(OUTAGE_MS - 30_000);
    const contention = contend(2, 90_000);
    await sleep(30_000);
    const held = (await getJson<{ destinations: Depth[] }>(`http://127.0.0.1:${relay.httpPort}/ring`)).destinations;
    const victimDepth = held.find((d) => d.destination === victim.id)!;
    // Five minutes of the member's share, retained (in memory and in the spool) while it was away.
    expect(victimDepth.connected).toBe(false);
    expect(victimDepth.queuedBytes).toBeGreaterThan(1_000_000);
    const restarted = await restartAccumulator(victim);
    running.push(restarted);

    await sleep(10_000);
    traffic.stop();
    await sending;
    await sender.close();
    const live = [accumulators[0]!, restarted, accumulators[2]!];
    const through = windowStart(traffic.lastSecond, COARSE) + COARSE;
    for (const a of live)
      await waitFor(
        `${a.id} flushed through ${through}`,
        async () => ((await healthOf(a)).flushWatermark ?? 0) >= through,
        60_000,
        250,
      );
    contention.stop();

    // Every bound on what the relay holds was kept, and every drop is counted: none here.
    expect(await metricValue(relay.httpPort, 'lines_accepted_total', 'protocol="graphite"')).toBe(traffic.sent[0]);
    expect(await metricValue(relay.httpPort, 'relay_dropped_lines_total')).toBe(0);
    expect(await metricValue(relay.httpPort, 'relay_dropped_batches_total')).toBe(0);
    expect(await metricValue(relay.httpPort, 'relay_spool_dropped_bytes_total')).toBe(0);
    expect(await metricValue(relay.httpPort, 'relay_spool_append_errors_total')).toBe(0);
    for (const a of live) {
      expect(await metricValue(a.httpPort, 'aggregator_late_points_total')).toBe(0);
      expect(await metricValue(a.httpPort, 'accumulator_misrouted_points_total')).toBe(0);
    }
    // Once all is durable the relay holds nothing more for the member.
    await waitFor('the relay to hold nothing more', async () => {
      const depths = (await getJson<{ destinations: Depth[] }>(`http://127.0.0.1:${relay.httpPort}/ring`)).destinations;
      return depths.every((d) => d.queuedBytes === 0);
    });

    const { problems, counts } = compareWithOracle(collectWritten(live), traffic.oracle.statPoints(STEPS));
    expect({ problems, counts }).toEqual({
      problems: NO_PROBLEMS,
      counts: { twoOwners: 0, wrong: 0, missing: 0, extra: 0 },
    });
    expect(traffic.oracle.pointCount).toBeGreaterThan(150_000);
    await Promise.all([...live.map((a) => a.program.stop()), relay.program.stop()]);
  }, 480_000);
});
