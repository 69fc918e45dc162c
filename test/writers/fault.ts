/**
 * The one fault frame of the connection-based writers: Graphite traffic for 85 s into a program running the writer
 * under test and a file writer beside it, all under CPU contention; the writer's server is stopped for 60 s of it
 * and started again, then SIGTERM flushes every window. The oracle is every (series, resolution, window) the
 * traffic made. Afterwards the server must hold each exactly (nothing lost within the bounds: the writer's queue
 * and retries are configured to outlast the outage), the outage must be counted (errors by kind, retries), nothing
 * dropped by either writer, and the file writer unaffected: every window, a short queue, and through the outage
 * the throughput of a run without the fault (within 10 %), which is the rate at which the traffic's windows close.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OwnServer } from '../harness/own-servers.js';
import { startBusyLoops } from '../support/contention.js';
import { sleep } from '../support/wait.js';
import { metricValue, sendTcp } from '../e2e/programs.js';
import { readTsv } from './file-read.js';
import {
  checkWindows,
  missingWindows,
  oracle,
  startCarillon,
  writerTotal,
  type Expected,
  type ReadRecord,
} from './scenario.js';

export const SERIES = 40;
const TICK_MS = 250;
const OUTAGE_FROM_S = 10;
export const OUTAGE_S = 60;
const TRAFFIC_S = 85;
/** Where the fault's traffic lives; a reader of the writer's server filters on it. */
export const FAULT_PREFIX = 'wt.fault.';

/** What the frame needs of the writer's server. */
export interface FaultServer {
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** A harness-owned server (Redis, MariaDB) as a FaultServer. */
export function ownedFaultServer(server: OwnServer): FaultServer {
  return { start: () => server.launch(), stop: () => server.stop() };
}

export interface FaultRun {
  expected: Expected[];
  /** /metrics text just before SIGTERM. */
  metrics: string;
  /** Points the file writer delivered while the server was down, and its largest queue meanwhile. */
  fileDuringOutage: number;
  fileMaxQueue: number;
  tsvDir: string;
  exitCode: number | null;
  output: string;
}

/** `writerToml`: the writer under test; a file writer under `tsvDir` runs beside it. */
export async function runFault(writerToml: string, tsvDir: string, server: FaultServer): Promise<FaultRun> {
  // Bounded: the run takes about 100 s; the loops stop at the end in any case.
  const busy = startBusyLoops(2, 240_000);
  try {
    return await faultRun(writerToml, tsvDir, server);
  } finally {
    busy.stop();
  }
}

async function faultRun(writerToml: string, tsvDir: string, server: FaultServer): Promise<FaultRun> {
  const carillon = await startCarillon(
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
    const fileMetric = async (name: string): Promise<number> =>
      metricValue(await carillon.metrics(), name, '{writer="file"}');
    const t0 = Date.now();
    let tick = 0;
    let outage: 'before' | 'down' | 'up' = 'before';
    let fileAtDown = 0;
    let fileDuringOutage = 0;
    let fileMaxQueue = 0;
    while (Date.now() - t0 < TRAFFIC_S * 1000) {
      const elapsed = (Date.now() - t0) / 1000;
      if (outage === 'before' && elapsed >= OUTAGE_FROM_S) {
        await server.stop();
        fileAtDown = await fileMetric('carillon_writer_points_written_total');
        outage = 'down';
      } else if (outage === 'down' && elapsed >= OUTAGE_FROM_S + OUTAGE_S) {
        fileDuringOutage = (await fileMetric('carillon_writer_points_written_total')) - fileAtDown;
        await server.start();
        outage = 'up';
      } else if (outage === 'down' && tick % 8 === 0)
        fileMaxQueue = Math.max(fileMaxQueue, await fileMetric('carillon_writer_queue_points'));
      const now = Math.floor(Date.now() / 1000);
      const batch: string[] = [];
      for (let i = 0; i < SERIES; i++) {
        lines.push([`${FAULT_PREFIX}s${i}`, tick, now]);
        batch.push(`${FAULT_PREFIX}s${i} ${tick} ${now}\n`);
      }
      tick++;
      await sendTcp(carillon.ports.graphite, batch.join(''));
      await sleep(TICK_MS);
    }
    await sleep(3_000);
    const metrics = await carillon.metrics();
    const exitCode = await carillon.program.stop();
    return {
      expected: oracle(lines),
      metrics,
      fileDuringOutage,
      fileMaxQueue,
      tsvDir,
      exitCode,
      output: carillon.program.output(),
    };
  } finally {
    await carillon.cleanup();
  }
}

/** The failures counted for `writer` (errors of any kind, retries), nothing dropped by either writer. */
export function checkCounted(run: FaultRun, writer: string): void {
  expect(run.exitCode, run.output).toBe(0);
  expect(writerTotal(run.metrics, 'carillon_writer_errors_total', writer), 'errors counted').toBeGreaterThan(2);
  expect(metricValue(run.metrics, 'carillon_writer_retries_total', `{writer="${writer}"}`)).toBeGreaterThan(2);
  expect(writerTotal(run.metrics, 'carillon_writer_dropped_points_total', writer), 'dropped').toBe(0);
  expect(writerTotal(run.metrics, 'carillon_writer_dropped_points_total', 'file'), 'file dropped').toBe(0);
}

/** The file writer kept the rate of a run without the fault (within 10%), a short queue, and every window. */
export function checkFileUnaffected(run: FaultRun): void {
  // Per second, SERIES windows of 2 s and of 10 s close: SERIES / 2 + SERIES / 10 points.
  const rate = SERIES / 2 + SERIES / 10;
  expect(run.fileDuringOutage).toBeGreaterThanOrEqual(0.9 * rate * OUTAGE_S);
  expect(run.fileDuringOutage).toBeLessThanOrEqual(1.1 * rate * OUTAGE_S);
  expect(run.fileMaxQueue).toBeLessThan(500);
  checkWindows(readTsv(run.tsvDir), run.expected);
}

/**
 * Reads the writer's server until it holds every window of the run (the writer may still be working through its
 * backlog: a bounded while), then checks them all exactly.
 */
export async function checkServerHoldsAll(
  read: () => Promise<ReadRecord[]>,
  run: FaultRun,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let records = await read();
  while (missingWindows(records, run.expected).length > 0 && Date.now() < deadline) {
    await sleep(1_000);
    records = await read();
  }
  checkWindows(
    records.filter((r) => r.name.startsWith(FAULT_PREFIX)),
    run.expected,
  );
}

/**
 * The writer's bounds for the fault run, as TOML lines: retries and a queue enough to outlast the outage (what
 * "nothing lost within the bounds" means here), a timeout on every write and a capped backoff.
 */
function outlastingOutage(writeTimeout: string): string[] {
  return [
    `write_timeout = "${writeTimeout}"`,
    'retry_backoff = "200ms"',
    'retry_backoff_max = "2s"',
    'max_retries = 1000',
    'queue_max_points = 200000',
  ];
}

/** One connection-based writer's fault test. */
export interface FaultCase<S> {
  /** The writer's `type`; also its `name`, which its counters are labelled with. */
  writer: string;
  /** What stands in the test's title: "the broker", "the server". */
  server: string;
  /** Starts the writer's own server (its files under `dir`). */
  start(dir: string): Promise<S>;
  /** The server as the frame stops and starts it. */
  faultServer(server: S): FaultServer;
  close(server: S): Promise<void>;
  /** The writer's `[[writers]]` keys beyond type, name and the bounds. */
  writerToml(server: S): string[];
  /** The writer's write timeout; 2 s unless a client needs more to fail over. */
  writeTimeout?: string;
  /** Checks that the server holds every window of the run exactly (checkServerHoldsAll). */
  holdsAll(server: S, run: FaultRun): Promise<void>;
}

/** The fault test of `c`: the run, then what it must show (counted, nothing lost, the file writer unaffected). */
export function describeFault<S>(c: FaultCase<S>): void {
  describe(`${c.writer} writer: ${c.server} down for ${OUTAGE_S} s under traffic`, () => {
    const dir = mkdtempSync(join(tmpdir(), `carillon-${c.writer}-fault-`));
    let server: S | undefined;
    let run: FaultRun;

    beforeAll(async () => {
      server = await c.start(dir);
      const toml = [
        '[[writers]]',
        `type = "${c.writer}"`,
        `name = "${c.writer}"`,
        ...c.writerToml(server),
        ...outlastingOutage(c.writeTimeout ?? '2s'),
      ];
      run = await runFault(toml.join('\n'), join(dir, 'tsv'), c.faultServer(server));
    }, 300_000);

    afterAll(async () => {
      if (server !== undefined) await c.close(server);
      rmSync(dir, { recursive: true, force: true });
    });

    it('counts the outage: errors by kind and retries, nothing dropped', () => checkCounted(run, c.writer));

    it(`${c.server} holds every window exactly after it comes back`, () => c.holdsAll(server!, run), 120_000);

    it('the file writer is unaffected: its throughput and queue through the outage, and every window', () =>
      checkFileUnaffected(run));
  });
}
