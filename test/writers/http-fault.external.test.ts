/**
 * The http writer's fault test: Graphite traffic for 85 s into a program with an http writer (VictoriaMetrics)
 * and a file writer; VictoriaMetrics is stopped 60 s of it and started again. Nothing is lost (the queue holds the
 * outage, well within its bound): VictoriaMetrics ends up with every window exactly, the failures are counted
 * (errors by kind, retries, no drops), and the file writer, which shares the program, keeps its throughput and
 * holds every window too.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startVictoriaMetrics, type TsdbServer } from '../support/tsdb-servers.js';
import { sleep, waitFor } from '../support/wait.js';
import { sendTcp } from '../e2e/programs.js';
import { readVictoriaMetrics } from './line-protocol-read.js';
import { checkWindows, metricValue, oracle, startWithWriters, type Expected, type ReadRecord } from './scenario.js';

const SERIES = 40;
const TICK_MS = 250;
const OUTAGE_FROM_S = 10;
const OUTAGE_S = 60;
const TRAFFIC_S = 85;

function fileRecords(dir: string): ReadRecord[] {
  const records: ReadRecord[] = [];
  for (const file of readdirSync(dir))
    for (const line of readFileSync(join(dir, file), 'utf8').split('\n')) {
      if (line === '') continue;
      const [name, sum, mean, min, max, first, last, count, step, timeNs] = line.split('\t');
      records.push({
        name: name!,
        sum: Number(sum),
        mean: Number(mean),
        min: Number(min),
        max: Number(max),
        first: Number(first),
        last: Number(last),
        count: Number(count),
        step: Number(step),
        time: Number(BigInt(timeNs!) / 1_000_000_000n),
      });
    }
  return records;
}

describe('http writer: the server down for 60 s under traffic', () => {
  const dir = mkdtempSync(join(tmpdir(), 'carillon-http-fault-'));
  let vm: TsdbServer;
  let expected: Expected[];
  let metrics: string;
  let fileDuringOutage = 0;
  let exitCode: number | null;
  let output = '';

  beforeAll(async () => {
    vm = await startVictoriaMetrics(dir);
    const started = await startWithWriters(
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
        '[[writers]]',
        'type = "file"',
        'name = "file"',
        `base = "${dir}/tsv/stats"`,
        'flush_interval = "500ms"',
      ].join('\n'),
    );
    try {
      const lines: [string, number, number][] = [];
      const fileWritten = async (): Promise<number> =>
        metricValue(await started.metrics(), 'carillon_writer_points_written_total{writer="file"}');
      const t0 = Date.now();
      let k = 0;
      let outage: 'before' | 'down' | 'up' = 'before';
      let fileAtDown = 0;
      while (Date.now() - t0 < TRAFFIC_S * 1000) {
        const elapsed = (Date.now() - t0) / 1000;
        if (outage === 'before' && elapsed >= OUTAGE_FROM_S) {
          await vm.stop();
          fileAtDown = await fileWritten();
          outage = 'down';
        } else if (outage === 'down' && elapsed >= OUTAGE_FROM_S + OUTAGE_S) {
          fileDuringOutage = (await fileWritten()) - fileAtDown;
          await vm.start();
          outage = 'up';
        }
        const now = Math.floor(Date.now() / 1000);
        const batch: string[] = [];
        for (let i = 0; i < SERIES; i++) {
          lines.push([`wt.fault.s${i}`, k, now]);
          batch.push(`wt.fault.s${i} ${k} ${now}\n`);
        }
        k++;
        await sendTcp(started.ports.graphite, batch.join(''));
        await sleep(TICK_MS);
      }
      expected = oracle(lines);
      await sleep(3_000);
      metrics = await started.metrics();
      exitCode = await started.program.stop();
      output = started.program.output();
    } finally {
      await started.cleanup();
    }
  }, 240_000);

  afterAll(async () => {
    await vm?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('counts the outage: errors by kind and retries, nothing dropped', () => {
    expect(exitCode, output).toBe(0);
    const errors =
      metricValue(metrics, 'carillon_writer_errors_total{writer="vm",kind="connect"}') +
      metricValue(metrics, 'carillon_writer_errors_total{writer="vm",kind="timeout"}');
    expect(errors).toBeGreaterThan(5);
    expect(metricValue(metrics, 'carillon_writer_retries_total{writer="vm"}')).toBeGreaterThan(5);
    expect(metrics).not.toMatch(/carillon_writer_dropped_points_total\{writer="vm"/);
    expect(metrics).not.toMatch(/carillon_writer_dropped_points_total\{writer="file"/);
  });

  it('VictoriaMetrics holds every window exactly after it comes back', async () => {
    let records: ReadRecord[] = [];
    await waitFor(
      'every window in victoria-metrics',
      async () => {
        records = (await readVictoriaMetrics(vm.baseUrl)).filter((r) => r.name.startsWith('wt.fault.'));
        return records.length >= expected.length;
      },
      30_000,
      500,
    );
    checkWindows(records, expected);
  });

  it('the file writer is unaffected: its throughput through the outage, and every window', () => {
    // Per second, SERIES windows of 2 s and of 10 s close: SERIES / 2 + SERIES / 10 points.
    const rate = SERIES / 2 + SERIES / 10;
    expect(fileDuringOutage).toBeGreaterThanOrEqual(0.9 * rate * OUTAGE_S);
    expect(fileDuringOutage).toBeLessThanOrEqual(1.1 * rate * OUTAGE_S);
    checkWindows(fileRecords(join(dir, 'tsv')), expected);
  });
});
