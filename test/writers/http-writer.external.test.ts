/**
 * The http writer end to end against real servers: one program with two http writers, one posting to a
 * VictoriaMetrics and one to an InfluxDB 1.x (both started here as local processes), known Graphite and StatsD
 * traffic under CPU contention, SIGTERM; both servers, queried with their own APIs, hold every window with exact values.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startInfluxDb, startVictoriaMetrics, type TsdbServer } from '../support/tsdb-servers.js';
import { waitFor } from '../support/wait.js';
import { readInfluxDb, readVictoriaMetrics } from './line-protocol-read.js';
import { metricValue } from '../e2e/programs.js';
import { checkRecords, runScenario, type ReadRecord, type ScenarioRun } from './scenario.js';

describe('http writer (InfluxDB line protocol)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'carillon-http-writer-'));
  let vm: TsdbServer;
  let influx: TsdbServer;
  let run: ScenarioRun;

  beforeAll(async () => {
    [vm, influx] = await Promise.all([startVictoriaMetrics(dir), startInfluxDb(dir, 'carillon')]);
    run = await runScenario({
      bulk: 300,
      writersToml: [
        '[[writers]]',
        'type = "http"',
        'name = "vm"',
        `url = "${vm.writeUrl}"`,
        'batch_points = 100',
        '[[writers]]',
        'type = "http"',
        'name = "influx"',
        `url = "${influx.writeUrl}"`,
        'gzip = true',
      ].join('\n'),
    });
  }, 120_000);

  afterAll(async () => {
    await Promise.all([vm?.stop(), influx?.stop()]);
    rmSync(dir, { recursive: true, force: true });
  });

  const expectedRows = (): number => run.expected.length + 3 * 2; // Graphite windows + 3 StatsD names × 2 steps

  it('VictoriaMetrics holds every window exactly', async () => {
    expect(run.exitCode, run.output).toBe(0);
    let records: ReadRecord[] = [];
    await waitFor(
      'the points searchable in victoria-metrics',
      async () => {
        records = await readVictoriaMetrics(vm.baseUrl);
        return records.length >= expectedRows();
      },
      30_000,
      500,
    );
    checkRecords(records, run);
    expect(metricValue(run.metricsBeforeStop, 'carillon_writer_errors_total{writer="vm",kind="connect"}')).toBe(0);
  });

  it('InfluxDB 1.x holds every window exactly', async () => {
    let records: ReadRecord[] = [];
    await waitFor(
      'the points in influxdb',
      async () => {
        records = await readInfluxDb(influx.baseUrl, 'carillon');
        return records.length >= expectedRows();
      },
      30_000,
      500,
    );
    checkRecords(records, run);
  });
});
