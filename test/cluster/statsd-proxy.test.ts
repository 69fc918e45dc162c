/**
 * `ring.placement = "statsd-proxy"` end to end, real processes on loopback: a relay and three accumulators on a
 * static member list whose ids are the reference StatsD proxy's node names. Each StatsD line must reach, and be
 * kept by, the accumulator the proxy's own hashring (the `hashring` package, configured as proxy.js configures
 * it) gives its raw key to: no accumulator counts a misrouted point, and each one's StatsD output is exactly what
 * a single StatsD aggregator makes of the lines placed on it. Graphite lines keep the carillon ring.
 */
import { describe, expect, it } from 'vitest';
import type { StatsdSample } from '@carillon/core';
import { DEFAULT_STATSD_OPTIONS, StatsdAggregator } from '@carillon/aggregator';
import { parseStatsdLine } from '@carillon/protocols';
import { RingSchedule, murmur3String } from '@carillon/ring';
import { proxyRing } from '../support/proxy-ring.js';
import { sleep, waitFor } from '../support/wait.js';
import { LineSender, healthOf, keyOf, metricValue, startStaticCluster, writtenBy } from './cluster.js';
import { useClusterWorkspace } from './workspace.js';

/** The proxy's node names (`host:port` of the StatsD daemons it fed), in its `nodes` order: the member ids. */
const NODES = ['statsd-a:8125', 'statsd-b:8125', 'statsd-c:8125'];

/** Keys of every StatsD type whose raw text is not the canonical name: sample rates, packing, odd chars, tags. */
function firstBurst(): string[] {
  const lines: string[] = [];
  for (let i = 0; i < 60; i++) lines.push(`px.hits${i}:${i + 1}|c${i % 3 === 0 ? '|@0.5' : ''}`);
  for (let i = 0; i < 40; i++) lines.push(`px.level${i}:${i * 10}|g`);
  for (let i = 0; i < 30; i++) lines.push(`px.lat${i}:${i}:${i + 5}:${2 * i + 1}|ms`);
  for (let i = 0; i < 30; i++) lines.push(`px.users${i}:u${i % 4}|s`, `px.users${i}:u${(i + 1) % 4}|s`);
  for (let i = 0; i < 20; i++) lines.push(`odd key/${i}:${i}|c`);
  for (let i = 0; i < 20; i++) lines.push(`tg.req${i};env=prod;dc=d${i % 2}:${i}|c`);
  for (let i = 0; i < 20; i++) lines.push(`dg.level${i}:${i + 2}|g|#host:h${i % 3},app:web`);
  return lines;
}

/** Two seconds later: some counters again, gauge deltas (applied to the kept value), timers, new set members. */
function secondBurst(): string[] {
  const lines: string[] = [];
  for (let i = 0; i < 30; i++) lines.push(`px.hits${i}:2|c`);
  for (let i = 0; i < 30; i++) lines.push(`px.level${i}:${i < 20 ? '+3' : '-1.5'}|g`);
  for (let i = 0; i < 10; i++) lines.push(`px.lat${i}:7|ms`);
  for (let i = 0; i < 10; i++) lines.push(`px.users${i}:u9|s`);
  return lines;
}

/** Sleeps to `offsetMs` into `second` (default: the next one) and returns that second. */
async function atSecond(offsetMs: number, second = Math.floor(Date.now() / 1000) + 1): Promise<number> {
  await sleep(Math.max(0, second * 1000 + offsetMs - Date.now()));
  return Math.floor(Date.now() / 1000);
}

/**
 * What one StatsD aggregator sends for `bursts` (lines and the second they arrived in), flushing every second
 * from the first burst through `until` (exclusive): `name|time` → value.
 */
function singleAggregator(bursts: { second: number; lines: string[] }[], until: number): Map<string, number> {
  const first = bursts[0]!.second;
  const statsd = new StatsdAggregator(DEFAULT_STATSD_OPTIONS, 1, 1_000_000, first);
  for (const { second, lines } of bursts)
    for (const line of lines) {
      const samples: StatsdSample[] = [];
      const problem = parseStatsdLine(line, samples);
      if (problem !== undefined) throw new Error(`test line "${line}" rejected: ${problem}`);
      for (const sample of samples) statsd.add(sample, second);
    }
  const out = new Map<string, number>();
  for (let now = first + 1; now <= until; now++)
    statsd.flush(now, (name, value, time) => out.set(`${name}|${time}`, value));
  return out;
}

describe('statsd-proxy placement in a cluster', () => {
  const { root, running } = useClusterWorkspace('statsd-proxy');

  it("every StatsD line is kept by the accumulator the proxy's hashring names; output exact, nothing misrouted", async () => {
    const { accumulators: accs, relay, members } = await startStaticCluster(root, NODES, running, 'statsd-proxy');
    const statsd = await LineSender.open(relay.statsdPort);
    const graphite = await LineSender.open(relay.graphitePort);
    await sleep(500);

    const bursts: { second: number; lines: string[] }[] = [];
    const graphiteKeys = Array.from({ length: 50 }, (_, i) => `gr.host${i % 7}.m${i}`);
    const send = async (lines: string[], at?: number): Promise<void> => {
      const second = await atSecond(150, at);
      await statsd.send(lines.map((l) => `${l}\n`).join(''));
      if (bursts.length === 0) await graphite.send(graphiteKeys.map((k, i) => `${k} ${i} ${second}\n`).join(''));
      // Each burst must arrive within its second: the relay stamps the batch with its arrival second.
      expect(Math.floor(Date.now() / 1000)).toBe(second);
      bursts.push({ second, lines });
    };
    await send(firstBurst());
    await send(secondBurst(), bursts[0]!.second + 2);
    const first = bursts[0]!.second;
    // Bursts at first and first + 2 (an idle interval between them), then two more idle intervals.
    expect(bursts[1]!.second).toBe(first + 2);
    const until = first + 4;
    for (const a of accs)
      await waitFor(
        `${a.id} flushed through ${until}`,
        async () => ((await healthOf(a)).flushWatermark ?? 0) >= until,
        20_000,
      );

    const sent = bursts.reduce((n, b) => n + b.lines.length, 0);
    expect(await metricValue(relay.httpPort, 'lines_accepted_total', 'protocol="statsd"')).toBe(sent);
    expect(await metricValue(relay.httpPort, 'relay_dropped_lines_total')).toBe(0);
    for (const a of accs) expect(await metricValue(a.httpPort, 'accumulator_misrouted_points_total')).toBe(0);

    // Each node's lines, placed by the reference ring on the raw text before the first `:`.
    const reference = proxyRing(NODES);
    const nodeOf = (line: string): string | undefined => reference.get(line.slice(0, line.indexOf(':')));
    const written = new Map<string, string[]>();
    for (const a of accs) {
      const mine = bursts.map(({ second, lines }) => ({ second, lines: lines.filter((l) => nodeOf(l) === a.id) }));
      expect(mine[0]!.lines.length, a.id).toBeGreaterThan(20);
      const expected = singleAggregator(mine, until);
      const records = writtenBy(a);
      const statsdRecords = records.filter((r) => !r.name.startsWith('gr.'));
      const got = new Map<string, number>();
      for (const r of statsdRecords) {
        if (r.step !== 1 || r.time < first || r.time >= until) continue;
        // One StatsD value per series and interval: a StatPoint of one sample.
        expect([r.count, r.min, r.max, r.first, r.last], `${r.name}|${r.time}`).toEqual([
          1,
          r.sum,
          r.sum,
          r.sum,
          r.sum,
        ]);
        got.set(`${r.name}|${r.time}`, r.sum);
      }
      expect(Object.fromEntries([...got].sort())).toEqual(Object.fromEntries([...expected].sort()));
      // Nothing else, at any resolution or later window: only series of keys placed here.
      const names = new Set([...expected.keys()].map((k) => k.slice(0, k.lastIndexOf('|'))));
      expect(statsdRecords.filter((r) => !names.has(r.name)).map((r) => r.name)).toEqual([]);
      for (const r of records) {
        const key = keyOf(r);
        written.set(key, [...(written.get(key) ?? []), a.id]);
      }
    }
    // Exactly one writer per (series, step, window) across the cluster.
    expect([...written].filter(([, ids]) => ids.length > 1)).toEqual([]);

    // Graphite keeps the carillon ring (MurmurHash3 of the name over the same members).
    const ring = RingSchedule.fixed(members);
    for (const key of graphiteKeys)
      expect(written.get(`${key}|1|${first}`), key).toEqual([ring.ownerFor(murmur3String(key), first)!.id]);

    await statsd.close();
    await graphite.close();
    await Promise.all([...accs.map((a) => a.program.stop()), relay.program.stop()]);
  }, 60_000);
});
