/**
 * carillon with the `prometheus` writer, end to end: known Graphite and StatsD traffic in; a real Prometheus
 * (Debian's) scrapes the exporter, and its own query API answers the latest value of every series, by the series'
 * aggregation method, under the names and labels the mapping rules give.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aggregationRuleFor, splitCanonical, valueOf } from '@carillon/core';
import { uniqueName } from '../harness/servers.js';
import { ownPrometheus, type OwnServer } from '../harness/own-servers.js';
import { freePort } from '../support/ports.js';
import { waitFor } from '../support/wait.js';
import {
  metricValue,
  sendKnownTraffic,
  startCarillon,
  untilSettled,
  type Carillon,
  type Expected,
} from './carillon.js';

interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

describe('prometheus writer end to end', () => {
  const prefix = uniqueName('e2e');
  let exporterPort: number;
  let carillon: Carillon;
  let prometheus: OwnServer & { url: string };

  beforeAll(async () => {
    exporterPort = await freePort();
    carillon = await startCarillon(
      [
        '[[writers]]',
        'type = "prometheus"',
        `listen = "127.0.0.1:${exporterPort}"`,
        '[[writers.rules]]',
        `match = "${prefix}.*"`,
        'name = "carillon_e2e_$1"',
        `labels = { run = "${prefix}" }`,
      ].join('\n'),
    );
    prometheus = await ownPrometheus({ targets: [`127.0.0.1:${exporterPort}`], scrapeInterval: '1s' });
  }, 120_000);

  afterAll(async () => {
    await prometheus?.close();
    await carillon?.stop();
  });

  async function query(promql: string): Promise<Sample[]> {
    const response = await fetch(`${prometheus.url}/api/v1/query?query=${encodeURIComponent(promql)}`, {
      signal: AbortSignal.timeout(5_000),
    });
    const body = (await response.json()) as { status: string; data: { result: Sample[] } };
    if (body.status !== 'success') throw new Error(`query ${promql}: ${JSON.stringify(body)}`);
    return body.data.result;
  }

  it('serves the latest value of every series, scraped by Prometheus, exactly', { timeout: 90_000 }, async () => {
    const traffic = await sendKnownTraffic(carillon, prefix);
    await untilSettled(traffic);
    // The newest finest window of each Graphite series, reduced by its aggregation method.
    const newest = new Map<string, Expected>();
    for (const e of traffic.graphite)
      if (e.step === 2 && (newest.get(e.name)?.point.time ?? -1) < e.point.time) newest.set(e.name, e);
    const expected = [...newest.values()].map((e) => {
      const { path, tags } = splitCanonical(e.name);
      const node = path.slice(prefix.length + 1);
      return {
        metric: { __name__: `carillon_e2e_${node}`, run: prefix, ...Object.fromEntries(tags) },
        value: valueOf(e.point, aggregationRuleFor(path).method),
      };
    });
    expected.push(
      { metric: { __name__: `stats_counts_${prefix}_hits` } as never, value: traffic.statsd.counterValue },
      { metric: { __name__: `stats_gauges_${prefix}_temp` } as never, value: traffic.statsd.gaugeValue },
    );
    const seen = new Map<string, number>();
    await waitFor(
      'Prometheus to scrape the settled values',
      async () => {
        const result = [
          ...(await query(`{run="${prefix}"}`)),
          ...(await query(`{__name__=~"stats_(counts|gauges)_${prefix}_.*"}`)),
        ];
        seen.clear();
        for (const sample of result) {
          const { job: _job, instance: _instance, ...labels } = sample.metric;
          seen.set(JSON.stringify(Object.entries(labels).sort()), Number(sample.value[1]));
        }
        return expected.every((e) => seen.get(JSON.stringify(Object.entries(e.metric).sort())) === e.value);
      },
      30_000,
      500,
    ).catch((error: unknown) => {
      throw new Error(`${(error as Error).message}; Prometheus has ${JSON.stringify([...seen])}`);
    });
    expect(seen.size).toBe(expected.length);
    const metrics = await carillon.metrics();
    // Beside these, StatsD's rate (stats.<name>) and its own counters are exported too.
    expect(metricValue(metrics, 'carillon_prometheus_writer_series', '{writer="prometheus"}')).toBeGreaterThan(
      expected.length,
    );
    expect(metricValue(metrics, 'carillon_prometheus_writer_scrapes_total', '{writer="prometheus"}')).toBeGreaterThan(
      0,
    );
  });
});
