/**
 * Per-pattern retention in a cluster, under CPU contention: two accumulators on whisper and a relay, all given
 * one storage-schemas.conf whose section keeps only the coarse step of `times` for `coarse.*`. Points go in
 * through the relay; the relay's render API reads each series at its own resolutions (1 s for the others, 5 s
 * for `coarse.*` over the same range) from whichever accumulator owns it, and every window equals the average of
 * the points sent into it. The ring switches on the coarsest step of `times` as without rules.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RingSchedule, murmur3String } from '@carillon/ring';
import { getJson, sendTcp } from '../e2e/programs.js';
import { averages, type Points } from '../support/retention-traffic.js';
import { waitFor } from '../support/wait.js';
import { healthOf, startStaticCluster } from './cluster.js';
import { useClusterWorkspace } from './workspace.js';

type Rendered = { target: string; datapoints: [number | null, number][] }[];

describe('per-pattern retention in a cluster', () => {
  const { root, running, contend } = useClusterWorkspace('retention');

  it("reads every series through the relay at its own rule's resolutions, each window exact", async () => {
    const schemas = join(root, 'storage-schemas.conf');
    writeFileSync(schemas, '[coarse]\npattern = ^coarse\\.\nretentions = 5s:1d\n');
    const { accumulators, relay, members } = await startStaticCluster(
      root,
      ['keep-a', 'keep-b'],
      running,
      undefined,
      { store: 'whisper', 'carbon.storage_schemas': schemas },
      { 'carbon.storage_schemas': schemas },
    );
    const contention = contend(2, 60_000);

    const names = Array.from({ length: 8 }, (_, i) => [`coarse.host${i}.cpu`, `fine.host${i}.cpu`]).flat();
    // Stamped ahead of the clock (within aggregator.max_future): every point lands in an open window.
    const base = Math.ceil(Date.now() / 1000 / 5) * 5 + 5;
    const sent = new Map<string, Points>();
    const lines: string[] = [];
    for (const [k, name] of names.entries()) {
      const points: Points = [0, 1, 2, 6, 7].map((dt, i) => [base + dt, k * 10 + i * 3 + 0.5]);
      sent.set(name, points);
      for (const [t, v] of points) lines.push(`${name} ${v} ${t}`);
    }
    const last = base + 7;
    // Both accumulators own some series of each rule, so the relay merges answers from both.
    const ring = RingSchedule.fixed(members);
    for (const prefix of ['coarse.', 'fine.'])
      expect(
        new Set(names.filter((n) => n.startsWith(prefix)).map((n) => ring.ownerFor(murmur3String(n), base)!.id)).size,
      ).toBe(2);
    await sendTcp(relay.graphitePort, lines.join('\n') + '\n');
    for (const a of accumulators)
      await waitFor(
        `${a.id} flushed through ${last + 5}`,
        async () => ((await healthOf(a)).flushWatermark ?? 0) > last + 5,
        60_000,
      );
    contention.stop();

    const render = async (back: number): Promise<Record<string, { step: number; points: Points }>> => {
      const now = Math.floor(Date.now() / 1000);
      const answer = await getJson<Rendered>(
        `http://127.0.0.1:${relay.httpPort}/render?format=json&target=coarse.*.cpu&target=fine.*.cpu&from=${now - back}&until=${now}`,
      );
      return Object.fromEntries(
        answer.map((s) => [
          s.target,
          {
            step: s.datapoints[1]![1] - s.datapoints[0]![1],
            points: s.datapoints.flatMap(([v, t]) => (v === null ? [] : [[t, v] as [number, number]])),
          },
        ]),
      );
    };
    const expected = (stepOf: (name: string) => number) =>
      Object.fromEntries(
        names.map((name) => [name, { step: stepOf(name), points: averages(sent.get(name)!, stepOf(name)) }]),
      );
    // 5 minutes back: 1 s for the series that keep it, 5 s (their only archive) for coarse.*.
    expect(await render(300)).toEqual(expected((name) => (name.startsWith('coarse.') ? 5 : 1)));
    // 2 hours back, beyond the 1 h of 1 s: 5 s for all.
    expect(await render(7200)).toEqual(expected(() => 5));

    await Promise.all([...accumulators.map((a) => a.program.stop()), relay.program.stop()]);
  }, 120_000);
});
