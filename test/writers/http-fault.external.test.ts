/**
 * The http writer's fault test (fault-scenario.ts): VictoriaMetrics stopped 60 s under traffic and started again;
 * it ends up with every window exactly, the failures are counted, the file writer beside it is unaffected.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { startVictoriaMetrics, type TsdbServer } from '../support/tsdb-servers.js';
import { waitFor } from '../support/wait.js';
import { checkCounted, checkFileUnaffected, runFault, type FaultRun } from './fault-scenario.js';
import { readVictoriaMetrics } from './line-protocol-read.js';
import { checkWindows, type ReadRecord } from './scenario.js';

describe('http writer: the server down for 60 s under traffic', () => {
  const dir = mkdtempSync(join(tmpdir(), 'carillon-http-fault-'));
  let vm: TsdbServer;
  let run: FaultRun;

  beforeAll(async () => {
    vm = await startVictoriaMetrics(dir);
    run = await runFault(
      [
        '[[writers]]',
        'type = "http"',
        'name = "vm"',
        `url = "${vm.writeUrl}"`,
        'flush_interval = "500ms"',
        'max_retries = 1000',
        'retry_backoff = "200ms"',
        'retry_backoff_max = "2s"',
        'write_timeout = "2s"',
        'queue_max_points = 200000',
      ].join('\n'),
      join(dir, 'tsv'),
      vm,
    );
  }, 240_000);

  afterAll(async () => {
    await vm?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('counts the outage: errors by kind and retries, nothing dropped', () => checkCounted(run, 'vm'));

  it('VictoriaMetrics holds every window exactly after it comes back', async () => {
    let records: ReadRecord[] = [];
    await waitFor(
      'every window in victoria-metrics',
      async () => {
        records = (await readVictoriaMetrics(vm.baseUrl)).filter((r) => r.name.startsWith('wt.fault.'));
        return records.length >= run.expected.length;
      },
      30_000,
      500,
    );
    checkWindows(records, run.expected);
  });

  it('the file writer is unaffected: its throughput through the outage, and every window', () =>
    checkFileUnaffected(run, join(dir, 'tsv')));
});
