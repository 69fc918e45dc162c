/**
 * Nothing lost over a restart: the program's http writer cannot reach its VictoriaMetrics (stopped) when SIGTERM
 * comes, so what it holds goes to its spill file; started again with the server back, it delivers the spill
 * first and removes the file. The server then holds every window of the first run exactly.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startVictoriaMetrics, type TsdbServer } from '../support/tsdb-servers.js';
import { waitFor } from '../support/wait.js';
import { readVictoriaMetrics } from './line-protocol-read.js';
import { metricValue } from '../e2e/programs.js';
import { checkRecords, runScenario, startCarillon, type ReadRecord, type ScenarioRun } from './scenario.js';

describe('a writer spills at shutdown and delivers first after restart', () => {
  const dir = mkdtempSync(join(tmpdir(), 'carillon-spill-'));
  let vm: TsdbServer;
  let run: ScenarioRun;
  const spillFile = join(dir, 'spill', 'vm.spill');
  let toml: string;

  beforeAll(async () => {
    vm = await startVictoriaMetrics(dir);
    await vm.stop();
    toml = [
      '[[writers]]',
      'type = "http"',
      'name = "vm"',
      `url = "${vm.writeUrl}"`,
      `spill_dir = "${dir}/spill"`,
      'close_timeout = "1s"',
      'retry_backoff = "100ms"',
      'retry_backoff_max = "500ms"',
      'max_retries = 1000',
    ].join('\n');
    run = await runScenario({ bulk: 100, writersToml: toml });
  }, 120_000);

  afterAll(async () => {
    await vm?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps what it could not deliver in its spill file at shutdown', () => {
    expect(run.exitCode, run.output).toBe(0);
    expect(run.output).toContain('writer spilled undelivered points to disk');
    expect(existsSync(spillFile)).toBe(true);
    expect(metricValue(run.metricsBeforeStop, 'carillon_writer_points_written_total{writer="vm"}')).toBe(0);
  });

  it('delivers the spill after a restart, exactly, and removes the file', async () => {
    await vm.start();
    const again = await startCarillon(toml);
    try {
      let records: ReadRecord[] = [];
      await waitFor(
        'the spilled windows in victoria-metrics',
        async () => {
          records = await readVictoriaMetrics(vm.baseUrl);
          return records.length >= run.expected.length + 6;
        },
        60_000,
        500,
      );
      await waitFor('the spill file removed', () => !existsSync(spillFile), 10_000);
      checkRecords(records, run);
      expect(await again.program.stop()).toBe(0);
    } finally {
      await again.cleanup();
    }
  }, 120_000);
});
