/**
 * Issue 17's chaos run, three times in a row under CPU contention (two busy loops, bounded in time): three
 * accumulators and two relays as processes, Redis membership, write-ahead logs and relay spools on. During known
 * Graphite traffic one accumulator joins, one leaves with SIGTERM, one is killed -9 and started again 15 s later,
 * and a relay is killed -9 and started again on its spool. Then every (key, window) at both resolutions, over
 * every member, equals the single-process oracle: nothing lost, nothing wrong, nothing counted twice, one owner.
 */
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { windowStart } from '@carillon/core';
import { RingSchedule, RingStore, murmur3String } from '@carillon/ring';
import { redisUrl, uniqueName } from '../harness/servers.js';
import { getJson, type RunningProgram } from '../e2e/programs.js';
import { startBusyLoops } from '../support/contention.js';
import { sleep, waitFor } from '../support/wait.js';
import {
  LineSender,
  STEPS,
  healthOf,
  metricValue,
  restartAccumulator,
  restartRelay,
  startAccumulator,
  startRelay,
  versionInForce,
  within,
  type Accumulator,
  type ClusterOptions,
  type Relay,
} from './cluster.js';
import { SecondlyTraffic } from './traffic.js';
import { NO_PROBLEMS, collectWritten, compareWithOracle } from './written.js';

const COARSE = STEPS[STEPS.length - 1]!;
const RUNS = 3;
const began = Date.now();
/** Progress of a run, for when it is slow or stuck (vitest shows test output only at the end). */
const PROGRESS = join(tmpdir(), 'carillon-chaos-progress.log');
const step = (text: string): void =>
  appendFileSync(PROGRESS, `[chaos +${((Date.now() - began) / 1000).toFixed(1)}s] ${text}\n`);

const killed = (program: RunningProgram): Promise<unknown> =>
  within('a killed program to exit', new Promise((resolve) => program.child.once('exit', resolve)), 10_000);

describe('chaos: join, leave, kill -9 and restart of an accumulator and of a relay', () => {
  let redis: Redis;
  let url: string;
  const root = mkdtempSync(join(tmpdir(), 'carillon-chaos-'));
  const running: { program: RunningProgram }[] = [];
  /** A failed run's directories are kept for the diagnosis. */
  let keep = false;

  beforeAll(async () => {
    url = await redisUrl();
    redis = new Redis(url, { lazyConnect: true, connectTimeout: 3000, commandTimeout: 3000, maxRetriesPerRequest: 1 });
    await redis.connect();
  });

  afterAll(async () => {
    for (const r of running) if (r.program.child.exitCode === null) r.program.child.kill('SIGKILL');
    await redis?.quit();
    if (keep) {
      // Each program's log beside its directories: which relay, worker and phase a lost line went through.
      running.forEach((r, i) => writeFileSync(join(root, `program-${i}.log`), r.program.output()));
      step(`kept ${root}`);
    } else rmSync(root, { recursive: true, force: true });
  });

  for (let run = 1; run <= RUNS; run++)
    it(`run ${run} of ${RUNS}: every (key, window) at every resolution equals the oracle, with one owner`, async () => {
      const contention = startBusyLoops(2, 150_000);
      try {
        const cluster: ClusterOptions = {
          redisUrl: url,
          prefix: uniqueName(`chaos${run}`),
          root: join(root, `run-${run}`),
        };
        const start = async (id: string): Promise<Accumulator> => {
          const a = await startAccumulator(cluster, id, undefined, {
            'wal.dir': join(cluster.root, id, 'wal'),
          });
          running.push(a);
          return a;
        };
        const accs: Accumulator[] = [];
        for (const id of ['acc-0', 'acc-1', 'acc-2']) accs.push(await start(id));
        await versionInForce(redis, cluster.prefix, ['acc-0', 'acc-1', 'acc-2']);
        const relayStart = async (name: string): Promise<Relay> => {
          const r = await startRelay(cluster, { 'spool.dir': join(cluster.root, name, 'spool') });
          running.push(r);
          return r;
        };
        const relayA = await relayStart('relay-a');
        let relayB = await relayStart('relay-b');
        // Traffic starts once both relays have their streams open (starting them is not what this run tests).
        for (const r of [relayA, relayB])
          await waitFor(
            'a relay connected to every member',
            async () =>
              (
                await getJson<{ destinations: { connected: boolean }[] }>(`http://127.0.0.1:${r.httpPort}/ring`)
              ).destinations.every((d) => d.connected),
            30_000,
            100,
          );
        const senderA = await LineSender.open(relayA.graphitePort);
        let senderB: LineSender | undefined = await LineSender.open(relayB.graphitePort);
        const aKeys = Array.from({ length: 1500 }, (_, i) => `chaos.a.host${i % 50}.metric${i}`);
        const bKeys = Array.from({ length: 1000 }, (_, i) => `chaos.b.host${i % 40}.metric${i};dc=b${i % 3}`);
        const traffic = new SecondlyTraffic([
          { sender: () => senderA, keys: aKeys },
          { sender: () => senderB, keys: bKeys },
        ]);
        const sending = traffic.run(70);
        step(`run ${run}: ring of 3, traffic started`);

        // Join.
        await sleep(4000);
        const acc3 = await start('acc-3');
        accs.push(acc3);
        step(`run ${run}: acc-3 started`);

        // Leave: acc-1 leaves at a coarse boundary ahead, serves its windows until then, flushes, exits 0.
        await sleep(4000);
        const acc1 = accs[1]!;
        const acc1Exit = within('acc-1 to exit after SIGTERM', acc1.program.stop(), 60_000);
        step(`run ${run}: SIGTERM to acc-1`);

        // kill -9 of acc-2, started again 15 s later (its log rebuilds what it held; relays replay the rest).
        await sleep(3000);
        const acc2 = accs[2]!;
        acc2.program.child.kill('SIGKILL');
        await killed(acc2.program);
        const acc2Restart = sleep(15_000).then(async () => {
          const restarted = await restartAccumulator(acc2);
          running.push(restarted);
          accs.push(restarted);
          step(`run ${run}: acc-2 restarted`);
        });
        step(`run ${run}: acc-2 killed`);

        // kill -9 of relay B once it read every line sent to it (what is in its socket is the client's to send
        // again), and a start on the same spool.
        await sleep(3000);
        await traffic.pause(1);
        let read = 0;
        await waitFor(
          'relay B to read every line sent to it',
          async () => {
            read = await metricValue(relayB.httpPort, 'lines_received_total', 'protocol="graphite"');
            return read === traffic.sent[1];
          },
          30_000,
        ).catch((error: unknown) => {
          throw new Error(`${String(error)}: read ${read}, sent ${traffic.sent[1]}`);
        });
        relayB.program.child.kill('SIGKILL');
        await killed(relayB.program);
        const sentBefore = traffic.sent[1]!;
        await senderB.close();
        senderB = undefined;
        relayB = await restartRelay(relayB);
        running.push(relayB);
        senderB = await LineSender.open(relayB.graphitePort);
        traffic.resume(1);
        step(`run ${run}: relay B killed after ${sentBefore} lines and restarted`);

        await within('acc-2 to restart', acc2Restart, 60_000);
        expect(await acc1Exit).toBe(0);
        step(`run ${run}: acc-1 exited 0`);
        await sleep(5000);
        traffic.stop();
        await within('traffic to stop', sending, 20_000);
        await senderA.close();
        await senderB.close();
        contention.stop();
        const live = [accs[0]!, accs[3]!, accs[4]!];
        const through = windowStart(traffic.lastSecond, COARSE) + COARSE;
        for (const a of live)
          await waitFor(
            `${a.id} flushed through ${through}`,
            async () => ((await healthOf(a)).flushWatermark ?? 0) >= through,
            60_000,
            250,
          );
        step(`run ${run}: flushed through ${through}; ${traffic.oracle.pointCount} points`);

        expect(await metricValue(relayA.httpPort, 'lines_accepted_total', 'protocol="graphite"')).toBe(traffic.sent[0]);
        // Relay B's second run read what was sent to it after its restart.
        expect(await metricValue(relayB.httpPort, 'lines_accepted_total', 'protocol="graphite"')).toBe(
          traffic.sent[1]! - sentBefore,
        );
        for (const r of [relayA, relayB]) {
          expect(await metricValue(r.httpPort, 'relay_dropped_lines_total')).toBe(0);
          expect(await metricValue(r.httpPort, 'relay_spool_dropped_bytes_total')).toBe(0);
        }
        expect(await metricValue(relayB.httpPort, 'relay_spool_replayed_lines_total')).toBeGreaterThan(0);
        const refusals: Record<string, number> = {};
        for (const a of live)
          for (const metric of ['accumulator_misrouted_points_total', 'aggregator_late_points_total'])
            refusals[`${a.id} ${metric}`] = await metricValue(a.httpPort, metric);
        step(`run ${run}: refusals ${JSON.stringify(refusals)}`);

        const { problems, counts } = compareWithOracle(collectWritten(accs), traffic.oracle.statPoints(STEPS));
        step(`run ${run}: ${JSON.stringify(counts)}`);
        if (Object.values(counts).some((n) => n > 0)) {
          // Who owned what went wrong, and what each member wrote there: for the diagnosis.
          const schedule = new RingSchedule(await new RingStore(redis, cluster.prefix).readVersions());
          const written = collectWritten(accs);
          for (const line of [...problems.missing, ...problems.wrong].slice(0, 12)) {
            const [name, stepText, time] = line.split(':')[0]!.split('|');
            const owner = schedule.ownerFor(murmur3String(name!), Number(time))?.id;
            const fine = [0, 1, 2, 3, 4].map((d) => {
              const t = windowStart(Number(time), COARSE) + d;
              const w = written.get(`${name}|1|${t}`);
              return `${t}:${schedule.ownerFor(murmur3String(name!), t)?.id}:${w ? w.map((x) => `${x.id}/${x.record.count}`).join('+') : '-'}`;
            });
            step(`run ${run}: ${name}|${stepText}|${time} owner ${owner}; fine ${fine.join(' ')}`);
          }
          step(
            `run ${run}: versions ${JSON.stringify(schedule.versions.map((v) => [v.version, v.effectiveFrom, v.members.map((m) => m.id)]))}`,
          );
          keep = true;
        }
        expect({ problems, counts }).toEqual({
          problems: NO_PROBLEMS,
          counts: { twoOwners: 0, wrong: 0, missing: 0, extra: 0 },
        });
        expect(Object.values(refusals).every((n) => n === 0)).toBe(true);
        expect(traffic.oracle.pointCount).toBeGreaterThan(60_000);
        await within(
          'programs to stop',
          Promise.all([...live.map((a) => a.program.stop()), relayA.program.stop(), relayB.program.stop()]),
          30_000,
        );
        step(`run ${run}: done`);
      } finally {
        contention.stop();
      }
    }, 240_000);
});
