/**
 * carbon's rewrite and aggregation rules through a relay to two accumulators, against hand-computed outputs: a
 * `[pre]` rewrite renames legacy inputs before they are placed, carbon-aggregator rules add their outputs (sum,
 * max and avg over every input point of the window), a `[post]` rewrite renames an output, and each series, input
 * or output, is stored once, by the owner of its final name, with the rule's method. Sent under CPU contention.
 */
import { writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RingSchedule, murmur3String } from '@carillon/ring';
import { getJson } from '../e2e/programs.js';
import { sleep, waitFor } from '../support/wait.js';
import { healthOf, metricValue, startStaticCluster, writtenBy } from './cluster.js';
import { useClusterWorkspace } from './workspace.js';

function send(port: number, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: '127.0.0.1', port }, () => socket.end(text));
    socket.once('error', reject);
    socket.once('close', () => resolve());
  });
}

describe('carbon rewrite and aggregation rules in a cluster', () => {
  const { root, running, contend } = useClusterWorkspace('carbon-rules');

  it('stores inputs and outputs once, by their owners, with the values carbon-aggregator computes', async () => {
    const rewrite = join(root, 'rewrite-rules.conf');
    writeFileSync(rewrite, '[pre]\n^legacy\\. = app.\n[post]\n\\.all\\.latency_max$ = .all.latency.max\n');
    const aggregation = join(root, 'aggregation-rules.conf');
    writeFileSync(
      aggregation,
      [
        '# every host of a service',
        'app.all.requests (5) = sum app.*.requests',
        'app.all.latency_max (5) = max app.*.latency',
        '<svc>.avg.latency (1) = avg <svc>.*.latency',
      ].join('\n'),
    );
    const { accumulators, relay, members } = await startStaticCluster(
      root,
      ['rules-a', 'rules-b'],
      running,
      undefined,
      { 'carbon.aggregation_rules': aggregation },
      { 'carbon.rewrite_rules': rewrite, 'carbon.aggregation_rules': aggregation },
    );
    await sleep(500);
    // Under load, as delivery and aggregation must hold: two busy loops, bounded in time.
    const contention = contend(2, 30_000);

    const time = Math.floor(Date.now() / 1000);
    const inputs: [string, number][] = [];
    for (let host = 0; host < 12; host++) {
      inputs.push([`${host < 4 ? 'legacy' : 'app'}.web${host}.requests`, host + 1]);
      inputs.push([`app.web${host}.latency`, 10 * host - 30]);
    }
    await send(relay.graphitePort, inputs.map(([name, value]) => `${name} ${value} ${time}\n`).join(''));
    for (const a of accumulators)
      await waitFor(
        `${a.id} flushed through ${time + 5}`,
        async () => ((await healthOf(a)).flushWatermark ?? 0) > time + 5,
        30_000,
      );

    contention.stop();
    const requests = inputs.filter(([n]) => n.endsWith('requests')).map(([, v]) => v);
    const latencies = inputs.filter(([n]) => n.endsWith('latency')).map(([, v]) => v);
    const sum = (values: number[]): number => values.reduce((a, b) => a + b, 0);
    const expected = new Map<string, { sum: number; count: number; max: number }>([
      ...inputs.map(([n, v]): [string, { sum: number; count: number; max: number }] => [
        n.replace(/^legacy\./, 'app.'),
        { sum: v, count: 1, max: v },
      ]),
      ['app.all.requests', { sum: sum(requests), count: requests.length, max: Math.max(...requests) }],
      ['app.all.latency.max', { sum: sum(latencies), count: latencies.length, max: Math.max(...latencies) }],
      ['app.avg.latency', { sum: sum(latencies), count: latencies.length, max: Math.max(...latencies) }],
    ]);

    // The finest windows as written, by whom: once, by the owner of the final name.
    const ring = RingSchedule.fixed(members);
    const stored = new Map<string, { id: string; sum: number; count: number; max: number }[]>();
    for (const a of accumulators)
      for (const r of writtenBy(a))
        if (r.step === 1 && r.time === time)
          stored.set(r.name, [...(stored.get(r.name) ?? []), { id: a.id, sum: r.sum, count: r.count, max: r.max }]);
    for (const [name, point] of expected)
      expect(stored.get(name), name).toEqual([{ id: ring.ownerFor(murmur3String(name), time)!.id, ...point }]);
    expect([...stored.keys()].sort()).toEqual([...expected.keys()].sort());

    // Read back by the rule's method from the owner: sum, max, avg.
    const valueOf = async (name: string): Promise<number | null> => {
      const owner = accumulators.find((a) => a.id === ring.ownerFor(murmur3String(name), time)!.id)!;
      const series = await getJson<{ datapoints: [number | null, number][] }[]>(
        `http://127.0.0.1:${owner.httpPort}/render?format=json&target=${name}&from=${time - 1}&until=${time}`,
      );
      return series[0]?.datapoints.find(([, t]) => t === time)?.[0] ?? null;
    };
    expect(await valueOf('app.all.requests')).toBe(sum(requests));
    expect(await valueOf('app.all.latency.max')).toBe(Math.max(...latencies));
    expect(await valueOf('app.avg.latency')).toBe(sum(latencies) / latencies.length);
    // 36 outputs: each of the 12 requests and 12 latencies feeds one rule, the latencies two.
    expect(await metricValue(relay.httpPort, 'lines_generated_total', 'protocol="graphite"')).toBe(36);
    expect(await metricValue(relay.httpPort, 'lines_accepted_total', 'protocol="graphite"')).toBe(inputs.length + 36);

    await Promise.all([...accumulators.map((a) => a.program.stop()), relay.program.stop()]);
  }, 60_000);
});
