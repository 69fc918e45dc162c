/**
 * A static two-member cluster (no Redis) with the write-ahead log on, under CPU contention: one accumulator is
 * killed -9 two seconds into a coarse window and restarted. Its log rebuilds every window it held, the coarse
 * window in progress at the kill included; the relay's replay of batches already in the log is dropped as
 * duplicates. Every Graphite (key, window) at both resolutions, over both members, equals the single-process
 * oracle; StatsD counters sent beside them add up to what was sent, and every coarse window is the merge of its
 * fine ones.
 */
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { mergeStatPoint, windowStart, type StatPoint } from '@carillon/core';
import type { StatPointRecord } from '@carillon/accumulator';
import type { Contention } from '../support/contention.js';
import { sleep, waitFor } from '../support/wait.js';
import {
  LineSender,
  Oracle,
  STEPS,
  healthOf,
  keyOf,
  metricValue,
  pointOf,
  restartAccumulator,
  startStaticCluster,
  type Accumulator,
} from './cluster.js';
import { existsSync, readFileSync } from 'node:fs';
import { useClusterWorkspace } from './workspace.js';

const COARSE = STEPS[STEPS.length - 1]!;
const nowSeconds = (): number => Math.floor(Date.now() / 1000);

/**
 * Every StatPoint line an accumulator's file holds. A kill -9 can cut the line being appended; the next append
 * (after the restart) then continues on it, so a line is read from its last record start.
 */
function writtenBy(accumulator: Accumulator): { records: StatPointRecord[]; torn: number } {
  const path = join(accumulator.dataDir, 'statpoints.jsonl');
  if (!existsSync(path)) return { records: [], torn: 0 };
  const records: StatPointRecord[] = [];
  let torn = 0;
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (line === '') continue;
    const start = line.lastIndexOf('{"name"');
    try {
      records.push(JSON.parse(line.slice(Math.max(0, start))) as StatPointRecord);
      if (start > 0) torn++;
    } catch {
      torn++;
    }
  }
  return { records, torn };
}

describe('cluster: an accumulator killed -9 mid-window, with its write-ahead log', () => {
  const { root, running, contend } = useClusterWorkspace('walcluster');
  let contention: Contention | undefined;

  beforeAll(() => {
    // Two busy loops on a two-core machine, bounded in time; killed after all tests.
    contention = contend(2, 60_000);
  });

  it('every (key, window) at both resolutions equals the oracle; nothing lost, nothing counted twice', async () => {
    const { accumulators: accs, relay } = await startStaticCluster(root, ['wal-0', 'wal-1'], running, undefined, {
      'wal.dir': '<dataDir>/wal',
      // In a full CI run (busy loops, and the real servers beside them) a StatsD window the victim wrote before the
      // kill was written again after the restart with more in it, its total exact: the likeliest reading is lines
      // the relay sent more than the 3 s grace after reading them, replayed after the restart into the window
      // rebuilt from the log. A grace above the coarse step keeps the coarse window before the kill open at the
      // kill, so the test stays about crash recovery, not lateness (a late point is refused, or amends its window).
      'aggregator.grace': '6s',
      // The windows open at the kill close only after the relays replayed into them: reconnecting (backoff up to
      // 1 s), the Status call and the replay take seconds on a loaded machine, so the restart waits 10 s instead of
      // the clusters' 3 s.
      'durability.replay_wait': '10s',
    });
    const sender = await LineSender.open(relay.graphitePort);
    const statsdSender = await LineSender.open(relay.statsdPort);
    const counters = Array.from({ length: 60 }, (_, i) => `wc.host${i % 6}.hits${i}`);
    /** Counter → total sent. */
    const countersSent = new Map<string, number>();
    const keys = Array.from({ length: 400 }, (_, i) => `w.host${i % 20}.metric${i}`);
    const oracle = new Oracle();
    let stopped = false;
    let round = 0;
    let lastSecond = 0;
    let sentLines = 0;
    const sending = (async () => {
      while (!stopped) {
        const second = nowSeconds();
        const lines: string[] = [];
        keys.forEach((key, k) => {
          // Integers: sums exact in any order; min, max, first and last all differ.
          const value = ((round * 31 + k * 17) % 201) - 100;
          lines.push(`${key} ${value} ${second}\n`);
          oracle.add(key, second, value);
        });
        const statsd = counters.map((key, k) => {
          const increment = ((round + k) % 7) + 1;
          countersSent.set(key, (countersSent.get(key) ?? 0) + increment);
          return `${key}:${increment}|c\n`;
        });
        await Promise.all([sender.send(lines.join('')), statsdSender.send(statsd.join(''))]);
        sentLines += lines.length;
        lastSecond = second;
        round++;
        await sleep(200);
      }
    })();

    // Long enough for coarse windows to be flushed and their segments trimmed, then at a coarse boundary: the
    // window just closed is still pending (it flushes at the boundary plus the grace) and the next is open, so
    // the kill catches both, with the grace as margin before the pending one is flushed.
    const trafficSince = Date.now();
    await waitFor(
      'a coarse boundary',
      () => Date.now() - trafficSince > 14_000 && nowSeconds() % COARSE === 0,
      30_000,
      50,
    );
    const victim = accs[0]!;
    const flushedBefore = (await healthOf(victim)).flushWatermark ?? 0;
    victim.program.child.kill('SIGKILL');
    await new Promise((resolve) => victim.program.child.once('exit', resolve));
    const killedAt = nowSeconds();
    const restarted = await restartAccumulator(victim);
    accs[0] = restarted;
    running.push(restarted);
    const resumedAfter = (await healthOf(restarted)).resumedAfter;

    await sleep(5_000);
    stopped = true;
    await sending;
    await sender.close();
    await statsdSender.close();
    // The contention has done its job (traffic, kill, replay, restart under load): the flush wait needs none.
    contention?.stop();
    const through = windowStart(lastSecond, COARSE) + COARSE;
    for (const a of accs)
      await waitFor(
        `${a.id} flushed through ${through}`,
        async () => ((await healthOf(a)).flushWatermark ?? 0) >= through,
        40_000,
        200,
      );

    // The restart resumed from the log's floor: a coarse boundary, before the windows flushed before the kill.
    expect(resumedAfter).toBeDefined();
    expect(resumedAfter! % COARSE).toBe(0);
    expect(resumedAfter!).toBeLessThanOrEqual(flushedBefore);
    expect(resumedAfter!).toBeLessThan(killedAt);
    expect(await metricValue(relay.httpPort, 'lines_accepted_total', 'protocol="graphite"')).toBe(sentLines);

    const written = new Map<string, { id: string; record: StatPointRecord }[]>();
    for (const a of accs)
      for (const record of writtenBy(a).records) {
        const key = keyOf(record);
        const writers = written.get(key) ?? [];
        writers.push({ id: a.id, record });
        written.set(key, writers);
      }
    const expected = oracle.statPoints(STEPS);
    const problems = {
      twoOwners: [] as string[],
      rewrittenDifferently: [] as string[],
      wrong: [] as string[],
      missing: [] as string[],
      extra: [] as string[],
    };
    for (const [key, writers] of written) {
      if (key.startsWith('stats')) continue;
      const ids = new Set(writers.map((w) => w.id));
      if (ids.size > 1) problems.twoOwners.push(key);
      // Windows flushed before the kill and rebuilt from the log are written again: identically.
      const distinct = new Set(writers.map((w) => JSON.stringify(pointOf(w.record))));
      if (distinct.size > 1) problems.rewrittenDifferently.push(`${key}: ${[...distinct].join(' vs ')}`);
      const want = expected.get(key);
      if (want === undefined) problems.extra.push(key);
      else if (JSON.stringify(pointOf(writers[writers.length - 1]!.record)) !== JSON.stringify(want))
        problems.wrong.push(
          `${key}: wrote ${JSON.stringify(pointOf(writers[writers.length - 1]!.record))}, oracle ${JSON.stringify(want)}`,
        );
    }
    for (const key of expected.keys()) if (!written.has(key)) problems.missing.push(key);
    for (const list of Object.values(problems)) list.splice(10);
    expect(problems, `killed at ${killedAt}, resumed after ${resumedAfter}`).toEqual({
      twoOwners: [],
      rewrittenDifferently: [],
      wrong: [],
      missing: [],
      extra: [],
    });

    // StatsD counts land by the relay's arrival time, which only it knows: each counter's fine windows add up to
    // what was sent, each 5 s window is exactly the merge of its 1 s windows (the one of the kill included),
    // one writer per (series, window), and rebuilt windows are written again identically.
    const statsdProblems: string[] = [];
    for (const [key, sent] of countersSent) {
      const series = `stats_counts.${key}`;
      let total = 0;
      const merged = new Map<number, StatPoint>();
      const fineWindows = [...written.entries()]
        .filter(([k]) => k.startsWith(`${series}|1|`))
        .map(([, writers]) => writers)
        .sort((a, b) => a[0]!.record.time - b[0]!.record.time);
      for (const writers of fineWindows) {
        if (new Set(writers.map((w) => w.id)).size > 1)
          statsdProblems.push(`${series}@${writers[0]!.record.time}: two writers`);
        if (new Set(writers.map((w) => JSON.stringify(pointOf(w.record)))).size > 1)
          statsdProblems.push(`${series}@${writers[0]!.record.time}: rewritten differently`);
        const point = pointOf(writers[writers.length - 1]!.record);
        total += point.sum;
        const start = windowStart(point.time, COARSE);
        const window = merged.get(start) ?? { time: start, min: 0, max: 0, sum: 0, first: 0, last: 0, count: 0 };
        mergeStatPoint(window, point);
        merged.set(start, window);
      }
      if (total !== sent) statsdProblems.push(`${series}: fine windows add up to ${total}, sent ${sent}`);
      for (const [start, want] of merged) {
        const writers = written.get(`${series}|${COARSE}|${start}`);
        const got = writers === undefined ? undefined : JSON.stringify(pointOf(writers[writers.length - 1]!.record));
        if (got !== JSON.stringify(want))
          statsdProblems.push(`${series}@${start}: coarse ${got}, merged fine ${JSON.stringify(want)}`);
      }
    }
    // What a failure needs to be read: when the kill and the restart fell, and what the victim refused before it.
    const timeline =
      `killed at ${killedAt}, flushed before ${flushedBefore}, resumed after ${resumedAfter}; the relay saw ` +
      `${await metricValue(relay.httpPort, 'relay_points_refused_total', 'reason="late"')} points refused as late`;
    expect(statsdProblems.slice(0, 10), timeline).toEqual([]);

    // The victim's keys in the coarse window in progress at the kill: written, and exact (checked above).
    const killedWindow = windowStart(killedAt, COARSE);
    const victimKeysThere = [...written.entries()].filter(
      ([key, writers]) => key.endsWith(`|${COARSE}|${killedWindow}`) && writers[0]!.id === victim.id,
    );
    expect(victimKeysThere.length).toBeGreaterThan(0);
    // The relay replayed batches the log already held: dropped as duplicates, not aggregated twice.
    expect(await metricValue(restarted.httpPort, 'ingest_duplicate_batches_total')).toBeGreaterThan(0);
    expect(await metricValue(restarted.httpPort, 'accumulator_wal_replayed_records_total')).toBeGreaterThan(0);
    for (const a of accs) {
      expect(await metricValue(a.httpPort, 'aggregator_late_points_total')).toBe(0);
      expect(await metricValue(a.httpPort, 'accumulator_incomplete_windows_dropped')).toBe(0);
    }
    await Promise.all([...accs.map((a) => a.program.stop()), relay.program.stop()]);
  }, 150_000);
});
