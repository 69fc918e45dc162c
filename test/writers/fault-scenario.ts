/**
 * The fault test every connection-based writer shares: Graphite traffic for 85 s into a program running the
 * writer under test and a file writer; the server is stopped for 60 s of it and started again. The caller checks
 * that nothing was lost (its server ends up with every window), the failures were counted, and the file writer,
 * sharing the program, kept its throughput and every window.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { sleep } from '../support/wait.js';
import { sendTcp } from '../e2e/programs.js';
import { checkWindows, metricValue, oracle, startWithWriters, type Expected, type ReadRecord } from './scenario.js';

export const SERIES = 40;
const TICK_MS = 250;
const OUTAGE_FROM_S = 10;
export const OUTAGE_S = 60;
const TRAFFIC_S = 85;

export function fileRecords(dir: string): ReadRecord[] {
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

export interface FaultRun {
  expected: Expected[];
  metrics: string;
  /** Points the file writer delivered while the server was down. */
  fileDuringOutage: number;
  exitCode: number | null;
  output: string;
}

export interface FaultServer {
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** `writerToml`: the writer under test; a file writer under `tsvDir` runs beside it. */
export async function runFault(writerToml: string, tsvDir: string, server: FaultServer): Promise<FaultRun> {
  const started = await startWithWriters(
    [
      writerToml,
      '[[writers]]',
      'type = "file"',
      'name = "file"',
      `base = "${tsvDir}/stats"`,
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
    let fileDuringOutage = 0;
    while (Date.now() - t0 < TRAFFIC_S * 1000) {
      const elapsed = (Date.now() - t0) / 1000;
      if (outage === 'before' && elapsed >= OUTAGE_FROM_S) {
        await server.stop();
        fileAtDown = await fileWritten();
        outage = 'down';
      } else if (outage === 'down' && elapsed >= OUTAGE_FROM_S + OUTAGE_S) {
        fileDuringOutage = (await fileWritten()) - fileAtDown;
        await server.start();
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
    await sleep(3_000);
    const metrics = await started.metrics();
    const exitCode = await started.program.stop();
    return { expected: oracle(lines), metrics, fileDuringOutage, exitCode, output: started.program.output() };
  } finally {
    await started.cleanup();
  }
}

/** The failures counted for `writer`, nothing dropped by either writer. */
export function checkCounted(run: FaultRun, writer: string): void {
  expect(run.exitCode, run.output).toBe(0);
  const errors =
    metricValue(run.metrics, `carillon_writer_errors_total{writer="${writer}",kind="connect"}`) +
    metricValue(run.metrics, `carillon_writer_errors_total{writer="${writer}",kind="timeout"}`) +
    metricValue(run.metrics, `carillon_writer_errors_total{writer="${writer}",kind="server"}`);
  expect(errors).toBeGreaterThan(2);
  expect(metricValue(run.metrics, `carillon_writer_retries_total{writer="${writer}"}`)).toBeGreaterThan(2);
  expect(run.metrics).not.toMatch(new RegExp(`carillon_writer_dropped_points_total\\{writer="${writer}"`));
  expect(run.metrics).not.toMatch(/carillon_writer_dropped_points_total\{writer="file"/);
}

/** The file writer kept the rate of a run without the fault (within 10%) and holds every window. */
export function checkFileUnaffected(run: FaultRun, tsvDir: string): void {
  // Per second, SERIES windows of 2 s and of 10 s close: SERIES / 2 + SERIES / 10 points.
  const rate = SERIES / 2 + SERIES / 10;
  expect(run.fileDuringOutage).toBeGreaterThanOrEqual(0.9 * rate * OUTAGE_S);
  expect(run.fileDuringOutage).toBeLessThanOrEqual(1.1 * rate * OUTAGE_S);
  checkWindows(fileRecords(tsvDir), run.expected);
}
