/**
 * carillon with the `prometheus` writer, end to end (scenario.ts): known Graphite and StatsD traffic in under CPU
 * contention; a real Prometheus (Debian's) scrapes the exporter, and once every window has closed its own query
 * API answers the latest value of every series, by the series' aggregation method, under the names and labels the
 * mapping rules give.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aggregationRuleFor, splitCanonical, valueOf } from '@carillon/core';
import { ownPrometheus, type OwnServer } from '../harness/own-servers.js';
import { freePort } from '../support/ports.js';
import { waitFor } from '../support/wait.js';
import { metricValue } from '../e2e/programs.js';
import { runScenario, STATSD, type Expected, type ScenarioRun } from './scenario.js';

interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

const RUN_LABEL = 'wt';

async function query(prometheusUrl: string, promql: string): Promise<Sample[]> {
  const response = await fetch(`${prometheusUrl}/api/v1/query?query=${encodeURIComponent(promql)}`, {
    signal: AbortSignal.timeout(5_000),
  });
  const body = (await response.json()) as { status: string; data: { result: Sample[] } };
  if (body.status !== 'success') throw new Error(`query ${promql}: ${JSON.stringify(body)}`);
  return body.data.result;
}

/** The newest finest window of each Graphite series, reduced by its aggregation method, as the rules name it. */
function expectedSamples(expected: readonly Expected[]): { metric: Record<string, string>; value: number }[] {
  const newest = new Map<string, Expected>();
  for (const e of expected) if (e.step === 2 && (newest.get(e.name)?.time ?? -1) < e.time) newest.set(e.name, e);
  const samples = [...newest.values()].map((e): { metric: Record<string, string>; value: number } => {
    const { path, tags } = splitCanonical(e.name);
    return {
      metric: { __name__: `carillon_e2e_${path.slice('wt.g.'.length)}`, run: RUN_LABEL, ...Object.fromEntries(tags) },
      value: valueOf(e, aggregationRuleFor(path).method),
    };
  });
  samples.push(
    { metric: { __name__: STATSD.counter.replaceAll('.', '_') }, value: STATSD.counterValue },
    { metric: { __name__: STATSD.gauge.replaceAll('.', '_') }, value: STATSD.gaugeValue },
  );
  return samples;
}

describe('prometheus writer end to end', () => {
  let prometheus: OwnServer & { url: string };
  let run: ScenarioRun;
  let expected: { metric: Record<string, string>; value: number }[] = [];
  const seen = new Map<string, number>();
  let exporterMetrics = '';

  beforeAll(async () => {
    const exporterPort = await freePort();
    prometheus = await ownPrometheus({ targets: [`127.0.0.1:${exporterPort}`], scrapeInterval: '1s' });
    run = await runScenario({
      writersToml: [
        '[[writers]]',
        'type = "prometheus"',
        `listen = "127.0.0.1:${exporterPort}"`,
        '[[writers.rules]]',
        'match = "wt.g.*"',
        'name = "carillon_e2e_$1"',
        `labels = { run = "${RUN_LABEL}" }`,
      ].join('\n'),
      // A pull writer is read while the program runs, once every window has closed.
      whileSettled: async (carillon, settled) => {
        expected = expectedSamples(settled.expected);
        const key = (metric: Record<string, string>): string => JSON.stringify(Object.entries(metric).sort());
        await waitFor(
          'Prometheus to scrape the settled values',
          async () => {
            const result = [
              ...(await query(prometheus.url, `{run="${RUN_LABEL}"}`)),
              ...(await query(prometheus.url, '{__name__=~"stats_(counts|gauges)_wt_s_.*"}')),
            ];
            seen.clear();
            for (const sample of result) {
              const { job: _job, instance: _instance, ...labels } = sample.metric;
              seen.set(key(labels), Number(sample.value[1]));
            }
            return expected.every((e) => seen.get(key(e.metric)) === e.value);
          },
          30_000,
          500,
        ).catch((error: unknown) => {
          throw new Error(`${(error as Error).message}; Prometheus has ${JSON.stringify([...seen])}`);
        });
        exporterMetrics = await carillon.metrics();
      },
    });
  }, 120_000);

  afterAll(async () => {
    await prometheus?.close();
  });

  it('serves the latest value of every series, scraped by Prometheus, exactly', () => {
    expect(run.exitCode, run.output).toBe(0);
    expect(seen.size).toBe(expected.length);
    // Beside these, StatsD's rate (stats.<name>) and its own counters are exported too.
    expect(metricValue(exporterMetrics, 'carillon_prometheus_writer_series', '{writer="prometheus"}')).toBeGreaterThan(
      expected.length,
    );
    expect(
      metricValue(exporterMetrics, 'carillon_prometheus_writer_scrapes_total', '{writer="prometheus"}'),
    ).toBeGreaterThan(0);
  });
});
