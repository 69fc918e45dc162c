/**
 * A member leaves (SIGTERM) while a relay sending it lines for its last windows is killed -9 (batches processed
 * there, not durable yet, and more lines in its open batch) and comes back on its spool only after the leaving
 * member's windows were flushed and its `durability.replay_wait` of quiet had passed. The relay's stream ended
 * without its link's goodbye, so the leaving member waits for that relay to return and replay before it exits: every (key, window) at both resolutions equals the single-process oracle. This is
 * the chaos run's lost window, made certain: there a relay with ingest workers took longer to restart than the
 * leaving member's quiet wait, and the lines it had not sent yet for that member were never delivered.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisUrl, uniqueName } from '../harness/servers.js';
import { getJson, startProgram, type RunningProgram } from '../e2e/programs.js';
import { startBusyLoops } from '../support/contention.js';
import { sleep, waitFor } from '../support/wait.js';
import {
  LineSender,
  Oracle,
  RELAY,
  STEPS,
  healthOf,
  metricValue,
  startAccumulator,
  startRelay,
  versionInForce,
  within,
  type Accumulator,
  type ClusterOptions,
  type Relay,
} from './cluster.js';
import { NO_PROBLEMS, collectWritten, compareWithOracle } from './written.js';

const KEYS = Array.from({ length: 400 }, (_, i) => `leave.host${i % 20}.metric${i}`);

describe('cluster: a member leaving while a relay that holds its lines is down', () => {
  let redis: Redis;
  const root = mkdtempSync(join(tmpdir(), 'carillon-leave-restart-'));
  const running: { program: RunningProgram }[] = [];

  beforeAll(async () => {
    redis = new Redis(await redisUrl(), { lazyConnect: true, connectTimeout: 3000, commandTimeout: 3000 });
    await redis.connect();
  });

  afterAll(async () => {
    for (const r of running) if (r.program.child.exitCode === null) r.program.child.kill('SIGKILL');
    await redis?.quit();
    rmSync(root, { recursive: true, force: true });
  });

  it('waits for the relay to come back and replay its spool, then exits with every window written', async () => {
    const contention = startBusyLoops(2, 90_000);
    try {
      const cluster: ClusterOptions = { redisUrl: await redisUrl(), prefix: uniqueName('leaverestart'), root };
      const accs: Accumulator[] = [];
      for (const id of ['acc-0', 'acc-1']) {
        // A longer propagation delay: both rounds below fit before the leave.
        const a = await startAccumulator(cluster, id, undefined, { 'ring.propagation_delay': '4s' });
        running.push(a);
        accs.push(a);
      }
      const [acc0, acc1] = accs as [Accumulator, Accumulator];
      await versionInForce(redis, cluster.prefix, ['acc-0', 'acc-1']);
      // A long batch delay: the lines read stay in the open batch, unsent, until the kill.
      const relay: Relay = await startRelay(cluster, {
        'spool.dir': join(root, 'relay', 'spool'),
        'link.max_batch_delay': '60s',
        'ring.propagation_delay': '4s',
      });
      running.push(relay);
      await waitFor(
        'the relay connected to both members',
        async () =>
          (
            await getJson<{ destinations: { connected: boolean }[] }>(`http://127.0.0.1:${relay.httpPort}/ring`)
          ).destinations.filter((d) => d.connected).length === 2,
        30_000,
        100,
      );

      const acc1Exit = within('acc-1 to exit after SIGTERM', acc1.program.stop(), 120_000);
      let leavingAt = 0;
      await waitFor('acc-1 to leave', async () => (leavingAt = (await healthOf(acc1)).leavingAt ?? 0) > 0, 20_000);
      // Two points per key in the last second before the leave (about half of the keys are acc-1's), read a
      // second apart: the first round's batch closes when the second round arrives (a batch holds one receive
      // second) and is processed, not durable until that window is flushed; the second stays in the open batch.
      const stamp = leavingAt - 1;
      const oracle = new Oracle();
      const sender = await LineSender.open(relay.graphitePort);
      for (const round of [0, 1]) {
        if (round > 0) await sleep(1100 - (Date.now() % 1000));
        expect(Date.now() / 1000).toBeLessThan(leavingAt);
        await sender.send(KEYS.map((key, i) => `${key} ${i - 200 + round} ${stamp}\n`).join(''));
        for (const [i, key] of KEYS.entries()) oracle.add(key, stamp, i - 200 + round);
        await waitFor(
          'the relay to read every line',
          async () =>
            (await metricValue(relay.httpPort, 'lines_received_total', 'protocol="graphite"')) ===
            KEYS.length * (round + 1),
          20_000,
        );
      }
      // The first round's batches processed (not durable) at both: the relay was sending when it died.
      for (const a of accs)
        await waitFor(
          `${a.id} to process the first round`,
          async () => (await metricValue(a.httpPort, 'ingest_batches_received_total')) > 0,
          20_000,
        );
      relay.program.child.kill('SIGKILL');
      await within('the relay to exit', new Promise((resolve) => relay.program.child.once('exit', resolve)), 10_000);
      await sender.close();

      // Back only once acc-1 flushed its last window and had durability.replay_wait (3 s) without a batch.
      const back = (leavingAt + 2 + 3 + 2) * 1000;
      await sleep(Math.max(0, back - Date.now()));
      // The same relay on the same spool (its identity), now sending at once.
      const restarted = await startProgram(
        RELAY,
        [...relay.args, '--set', 'link.max_batch_delay=20ms'],
        'relay started',
        60_000,
      );
      running.push({ program: restarted });
      await waitFor(
        'the relay to replay its spool',
        async () => (await metricValue(relay.httpPort, 'relay_spool_replayed_lines_total', 'outcome="new"')) > 0,
        20_000,
      );
      expect(await acc1Exit).toBe(0);
      contention.stop();

      // What the relay sent acc-0 is durable (written): the replayed lines are amends there. acc-1 is gone.
      type Destinations = { destinations: { destination: string; queuedBatches: number; openBatchBytes: number }[] };
      const queued = async (): Promise<Destinations['destinations']> =>
        (await getJson<Destinations>(`http://127.0.0.1:${relay.httpPort}/ring`)).destinations;
      await waitFor(
        'every batch of the relay to acc-0 acked durable',
        async () => (await queued()).some((d) => d.destination === 'acc-0' && d.queuedBatches + d.openBatchBytes === 0),
        30_000,
        250,
      );
      expect(await metricValue(relay.httpPort, 'relay_spool_replayed_lines_total', 'outcome="new"')).toBe(KEYS.length);
      expect(await metricValue(relay.httpPort, 'relay_spool_replayed_lines_total', 'outcome="resent"')).toBe(
        KEYS.length,
      );
      expect(await metricValue(acc0.httpPort, 'accumulator_misrouted_points_total')).toBe(0);
      const { problems, counts } = compareWithOracle(collectWritten(accs), oracle.statPoints(STEPS));
      expect({ problems, counts }).toEqual({
        problems: NO_PROBLEMS,
        counts: { twoOwners: 0, wrong: 0, missing: 0, extra: 0 },
      });
      // Nothing is left for acc-1 either: it took the replay before it exited.
      expect((await queued()).map((d) => [d.destination, d.queuedBatches, d.openBatchBytes])).toEqual([
        ['acc-0', 0, 0],
        ['acc-1', 0, 0],
      ]);
      // Both members owned some of the keys: the leaving one's share went through the wait.
      const owners = new Set([...collectWritten(accs).values()].map((w) => w[0]!.id));
      expect([...owners].sort()).toEqual(['acc-0', 'acc-1']);
      await within('programs to stop', Promise.all([acc0.program.stop(), restarted.stop()]), 30_000);
    } finally {
      contention.stop();
    }
  }, 180_000);
});
