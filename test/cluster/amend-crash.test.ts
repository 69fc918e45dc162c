/**
 * Amends across kill -9, under CPU contention: one accumulator (whisper store, write-ahead log, StatPoint file)
 * behind a relay. Late points for windows already flushed are sent twice: once killed -9 before the amend is
 * stored (its relay batch is un-acked; the relay's replay of it is a duplicate the log already holds), and once
 * killed -9 after the amend is stored and the amend mark moved past it. Each time one set of late points falls in
 * a recent window (at or past the log's replay floor: the restart rebuilds it whole) and one in the first coarse
 * window (below the floor: the amend is merged into the store again only when it was not stored). After both
 * restarts every (key, window) at both resolutions equals the oracle: nothing lost, nothing merged twice.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { windowStart, type StatPoint } from '@carillon/core';
import type { StatPointRecord } from '@carillon/accumulator';
import { sleep, waitFor } from '../support/wait.js';
import {
  LineSender,
  healthOf,
  keyOf,
  metricValue,
  restartAccumulator,
  startStaticCluster,
  writtenBy,
  type Accumulator,
} from './cluster.js';
import { storedPoint } from './written.js';
import { useClusterWorkspace } from './workspace.js';

const FINE = 5;
const COARSE = 30;
const STEPS = [FINE, COARSE];
const KEYS = 60;
const LATE_KEYS = 10;
const nowSeconds = (): number => Math.floor(Date.now() / 1000);

/** Points in sending order; StatPoints by timestamp, ties by arrival (core statpoint.ts). */
class TimestampOracle {
  private readonly points = new Map<string, { timestamp: number; value: number }[]>();

  add(name: string, timestamp: number, value: number): void {
    let list = this.points.get(name);
    if (list === undefined) this.points.set(name, (list = []));
    list.push({ timestamp, value });
  }

  statPoints(): Map<string, StatPoint> {
    const out = new Map<string, StatPoint>();
    for (const [name, list] of this.points)
      for (const step of STEPS) {
        const windows = new Map<number, { timestamp: number; value: number }[]>();
        for (const p of list) {
          const start = windowStart(p.timestamp, step);
          windows.set(start, [...(windows.get(start) ?? []), p]);
        }
        for (const [start, inWindow] of windows) {
          // A stable sort: among equal timestamps arrival order stays.
          const sorted = [...inWindow].sort((a, b) => a.timestamp - b.timestamp);
          const values = sorted.map((p) => p.value);
          out.set(`${name}|${step}|${start}`, {
            time: start,
            min: Math.min(...values),
            max: Math.max(...values),
            sum: values.reduce((s, v) => s + v, 0),
            first: values[0]!,
            last: values[values.length - 1]!,
            count: values.length,
          });
        }
      }
    return out;
  }
}

const replayFloor = (a: Accumulator): number => {
  const path = join(a.dataDir, 'wal', 'replay-from.json');
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as { replayFrom: number }).replayFrom : 0;
};

describe('cluster: amends across kill -9, with the write-ahead log', () => {
  const { root, running, contend } = useClusterWorkspace('amendcrash');

  it('redoes exactly the amends not stored before the kill, at both resolutions', async () => {
    const { accumulators, relay } = await startStaticCluster(
      root,
      ['amend-0'],
      running,
      undefined,
      {
        store: 'whisper',
        times: `${FINE}s:1h,${COARSE}s:1d`,
        'wal.dir': '<dataDir>/wal',
      },
      { times: `${FINE}s:1h,${COARSE}s:1d` },
    );
    let victim = accumulators[0]!;
    const contention = contend(2, 150_000);
    const sender = await LineSender.open(relay.graphitePort);
    const keys = Array.from({ length: KEYS }, (_, i) => `am.host${i % 6}.m${i}`);
    const oracle = new TimestampOracle();
    const startedAt = nowSeconds();
    const firstCoarse = windowStart(startedAt, COARSE);
    let round = 0;
    let lastSecond = 0;
    let stopped = false;
    /** Every send goes through here, so on-time and late lines keep one order on the one connection. */
    let queue: Promise<void> = Promise.resolve();
    const send = (lines: { name: string; timestamp: number; value: number }[]): Promise<void> => {
      queue = queue.then(async () => {
        for (const l of lines) oracle.add(l.name, l.timestamp, l.value);
        await sender.send(lines.map((l) => `${l.name} ${l.value} ${l.timestamp}\n`).join(''));
      });
      return queue;
    };
    const sending = (async () => {
      while (!stopped) {
        const second = nowSeconds();
        // Integers: sums exact in any order; min, max, first and last all differ.
        await send(keys.map((name, k) => ({ name, timestamp: second, value: ((round * 31 + k * 17) % 201) - 100 })));
        lastSecond = second;
        round++;
        await sleep(250);
      }
    })();

    /** Late points for `names` stamped `timestamp`; resolves once the accumulator amended them all. */
    const sendLate = async (names: string[], timestamp: number, value: number): Promise<void> => {
      const before = await metricValue(victim.httpPort, 'aggregator_amended_points_total');
      await send(names.map((name, k) => ({ name, timestamp, value: value + k })));
      await waitFor(
        'late points amended',
        async () => (await metricValue(victim.httpPort, 'aggregator_amended_points_total')) >= before + names.length,
        10_000,
        10,
      );
    };
    /**
     * Right after a flush whose watermark is not at or one step before a coarse boundary: the next flush is most
     * of a step away, and the window before the watermark stays at or past the log's floor until well after it.
     */
    const justAfterFlush = async (): Promise<number> => {
      let seen = (await healthOf(victim)).flushWatermark ?? 0;
      for (;;) {
        const now = (await healthOf(victim)).flushWatermark ?? 0;
        if (now > seen && now % COARSE !== 0 && (now + FINE) % COARSE !== 0) return now;
        seen = now;
        await sleep(20);
      }
    };
    const lateNames = (set: number): string[] => keys.slice(set * LATE_KEYS, (set + 1) * LATE_KEYS);
    const amendRecords = (): number =>
      writtenBy(victim).filter((r) => r.amend === true && r.name.startsWith('am.')).length;
    const kill = async (): Promise<void> => {
      victim.program.child.kill('SIGKILL');
      await new Promise((resolve) => victim.program.child.once('exit', resolve));
    };
    const restart = async (): Promise<void> => {
      victim = await restartAccumulator(victim);
      running.push(victim);
    };

    // The first coarse window is flushed at every resolution and the log's floor has moved past it.
    await waitFor('the floor past the first coarse window', () => replayFloor(victim) > firstCoarse, 90_000, 200);

    // 1. Killed before the amend is stored: the late points are only in the log (and in the relay's un-acked batch).
    let watermark = await justAfterFlush();
    const recentA = watermark - 1;
    await sendLate(lateNames(0), recentA, 1000);
    await sendLate(lateNames(1), firstCoarse + COARSE - 1, 2000);
    await kill();
    expect(amendRecords()).toBe(0);
    expect(recentA).toBeGreaterThanOrEqual(replayFloor(victim));
    await restart();
    expect((await healthOf(victim)).resumedAfter).toBeDefined();

    // 2. Killed after the amend is stored and the amend mark moved past it: nothing is merged twice.
    await waitFor('a flush after the restart', async () => ((await healthOf(victim)).flushWatermark ?? 0) > watermark);
    watermark = await justAfterFlush();
    const recentB = watermark - 1;
    const storedBefore = amendRecords();
    await sendLate(lateNames(2), recentB, 3000);
    await sendLate(lateNames(3), firstCoarse + COARSE - 1, 4000);
    // Stored: the recent amend at the fine resolution (its coarse window is open), the old one at both. Two flushes
    // later the mark written after the first of them is on disk.
    await waitFor(
      'the amends stored and marked',
      async () =>
        amendRecords() >= storedBefore + 3 * LATE_KEYS &&
        ((await healthOf(victim)).flushWatermark ?? 0) >= watermark + 2 * FINE,
      30_000,
      20,
    );
    await sleep(500);
    await kill();
    expect(recentB).toBeGreaterThanOrEqual(replayFloor(victim));
    await restart();

    await sleep(6_000);
    stopped = true;
    await sending;
    await queue;
    await sender.close();
    contention.stop();
    const through = windowStart(lastSecond, COARSE) + COARSE;
    await waitFor(
      `flushed through ${through}`,
      async () => ((await healthOf(victim)).flushWatermark ?? 0) >= through,
      60_000,
      200,
    );
    // The last flush's writes and the relay's last acks.
    await sleep(1_000);

    const written = new Map<string, { record: StatPointRecord }[]>();
    for (const record of writtenBy(victim)) {
      if (!record.name.startsWith('am.')) continue;
      const list = written.get(keyOf(record)) ?? [];
      list.push({ record });
      written.set(keyOf(record), list);
    }
    const expected = oracle.statPoints();
    const wrong: string[] = [];
    const missing: string[] = [];
    const extra: string[] = [];
    for (const [key, writers] of written) {
      const want = expected.get(key);
      const { time, min, max, sum, first, last, count } = storedPoint(writers);
      const got = { time, min, max, sum, first, last, count };
      if (want === undefined) extra.push(key);
      else if (JSON.stringify(got) !== JSON.stringify(want))
        wrong.push(`${key}: stored ${JSON.stringify(got)}, oracle ${JSON.stringify(want)}`);
    }
    for (const key of expected.keys()) if (!written.has(key)) missing.push(key);
    expect({ wrong: wrong.slice(0, 10), wrongCount: wrong.length, missing: missing.slice(0, 10), extra }).toEqual({
      wrong: [],
      wrongCount: 0,
      missing: [],
      extra: [],
    });
    expect(await metricValue(victim.httpPort, 'aggregator_late_points_total')).toBe(0);
    await Promise.all([victim.program.stop(), relay.program.stop()]);
  }, 240_000);
});
