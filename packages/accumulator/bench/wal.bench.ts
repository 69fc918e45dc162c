// What the write-ahead log costs on the way in: Graphite lines read in 64 KiB socket chunks through the single
// node's listener path (framing, parse, aggregate), without the log and with it (lines staged per read, one
// synchronous writev per read to a real file in the temp directory); and relay batches of 64 KiB likewise.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MetricsRegistry, type FlushBatch } from '@carillon/core';
import { Aggregator, DEFAULT_STATSD_OPTIONS } from '@carillon/aggregator';
import { LineSplitter } from '@carillon/protocols';
import { LineIngest, LoggedIngest, WalMetrics, WalWriter } from '@carillon/accumulator';
import type { BenchRow } from '../../../bench/row.ts';
import { benchAggregatorOptions } from '../../aggregator/bench/bench-aggregator.ts';

const SERIES = 20_000;
const CHUNK = 64 * 1024;

function chunks(now: number): Buffer[] {
  const text = Array.from(
    { length: SERIES * 5 },
    (_, i) => `servers.host${i % 200}.app${i % SERIES}.latency ${i % 977} ${now}\n`,
  ).join('');
  const data = Buffer.from(text);
  const out: Buffer[] = [];
  for (let at = 0; at < data.length; at += CHUNK) out.push(data.subarray(at, at + CHUNK));
  return out;
}

function setup(withLog: boolean, dir: string) {
  const registry = new MetricsRegistry();
  const sink = { overloaded: () => false, write: (_batch: FlushBatch) => undefined };
  const aggregator = new Aggregator(benchAggregatorOptions(), DEFAULT_STATSD_OPTIONS, { sink, metrics: registry });
  const ingest = new LineIngest(aggregator, registry);
  const wal = withLog
    ? new WalWriter(
        { dir, segmentBytes: 64 << 20, maxBytes: 1 << 30, syncIntervalMs: 1000 },
        [],
        0,
        new WalMetrics(registry, () => ({ bytes: 0, segments: 0 })),
      )
    : undefined;
  const logged = new LoggedIngest(ingest, aggregator, wal);
  return { aggregator, ingest, logged, wal };
}

/** Best of `runs` passes over every chunk: lines per second. */
function measure(lines: number, pass: () => void, runs = 5): number {
  pass(); // warm up, and registers the series
  let best = Infinity;
  for (let r = 0; r < runs; r++) {
    const started = process.hrtime.bigint();
    pass();
    best = Math.min(best, Number(process.hrtime.bigint() - started) / 1e9);
  }
  return lines / best;
}

export default async function run(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const now = Math.floor(Date.now() / 1000);
  const data = chunks(now);
  const lines = SERIES * 5;
  const bytes = data.reduce((sum, c) => sum + c.length, 0);
  const dir = mkdtempSync(join(tmpdir(), 'carillon-walbench-'));
  try {
    const plain = setup(false, dir);
    const plainSplitter = new LineSplitter(65536, plain.ingest.graphiteLine, () => undefined);
    const withoutLog = measure(lines, () => {
      for (const chunk of data) plainSplitter.push(chunk);
    });
    const logged = setup(true, join(dir, 'listener'));
    const loggedSplitter = new LineSplitter(65536, logged.logged.graphiteLine, () => undefined);
    const withLog = measure(lines, () => {
      for (const chunk of data) {
        loggedSplitter.push(chunk);
        // What the microtask after each socket read does.
        logged.logged.flushStaged();
      }
    });
    rows.push(
      { name: 'listener path, no log', value: withoutLog, unit: 'lines/s', note: `${data.length} reads of 64 KiB` },
      { name: 'listener path, logged (staged per read, writev)', value: withLog, unit: 'lines/s' },
      { name: 'listener path, cost of the log', value: (withoutLog / withLog - 1) * 100, unit: '%' },
    );

    const relayPlain = setup(false, dir);
    const batchWithoutLog = measure(lines, () => {
      for (const chunk of data) relayPlain.logged.ingestBatch('graphite', chunk, now);
    });
    const relayLogged = setup(true, join(dir, 'relay'));
    const batchWithLog = measure(lines, () => {
      for (const chunk of data) relayLogged.logged.ingestBatch('graphite', chunk, now, { relayId: 'r', sequence: 1 });
    });
    rows.push(
      { name: 'relay batches, no log', value: batchWithoutLog, unit: 'lines/s' },
      { name: 'relay batches, logged (one writev per batch)', value: batchWithLog, unit: 'lines/s' },
      { name: 'relay batches, cost of the log', value: (batchWithoutLog / batchWithLog - 1) * 100, unit: '%' },
      { name: 'bytes logged per pass', value: bytes, unit: 'bytes' },
    );
    logged.wal?.close();
    relayLogged.wal?.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}
