// Memory per active series in an accumulator: the aggregator (series registry and open windows) and the query's
// series index, at the default `times`, for SERIES_MEMORY_BENCH_SERIES series (default 1,000,000) in steady
// state: a point of each in one finest window, that window flushed (so the open minute and ten-minute windows
// hold a row of every series), and a point of each in the next finest window. Measured as V8 heap plus array buffers after a full garbage collection, before
// and after the series are added, so names, ids, window rows and index entries are all counted; the points'
// input arrays are dropped before the second reading. The goal: at most 200 bytes a series.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { FlushBatch } from '@carillon/core';
import { Aggregator, DEFAULT_STATSD_OPTIONS } from '@carillon/aggregator';
import { SeriesIndex } from '@carillon/query';
import { benchAggregatorOptions } from '../packages/aggregator/bench/bench-aggregator.ts';
import type { BenchRow } from './row.ts';

const SERIES = Number(process.env.SERIES_MEMORY_BENCH_SERIES ?? 1_000_000);
const BATCH = 10_000;
const METRICS = ['cpu.user', 'cpu.system', 'cpu.idle', 'memory.used', 'disk.sda.reads', 'net.eth0.rx_bytes'];

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function heldBytes(): number {
  gc();
  gc();
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
}

/** The bench load's names: host, metric and instance, as bench/load/graphite-sender.ts makes them. */
function nameOf(s: number): string {
  const host = Math.floor(s / METRICS.length);
  return `prod.servers.web-${host % 5000}.${METRICS[s % METRICS.length]}.i${Math.floor(host / 5000)}`;
}

function measure(withAggregator: boolean, withIndex: boolean): number {
  // Two windows into a fresh ten-minute window, so both points' windows roll up into the same coarse ones.
  const start = Math.floor(Date.now() / 1000 / 600) * 600 - 600;
  let nowMs = (start + 1) * 1000;
  const before = heldBytes();
  const index = withIndex ? new SeriesIndex({ maxSeries: SERIES * 2 }) : undefined;
  const aggregator = withAggregator
    ? new Aggregator(benchAggregatorOptions(), DEFAULT_STATSD_OPTIONS, {
        sink: { overloaded: () => false, write: (_batch: FlushBatch) => undefined },
        clock: { now: () => nowMs },
      })
    : undefined;
  if (aggregator && index) aggregator.onNewSeries((name) => index.add(name));
  const addAll = (timestamp: number): void => {
    for (let first = 0; first < SERIES; first += BATCH) {
      const samples = [];
      for (let s = first; s < Math.min(SERIES, first + BATCH); s++)
        samples.push({ name: nameOf(s), value: s * 0.37, timestamp });
      if (aggregator) aggregator.addGraphiteBatch(samples);
      else for (const sample of samples) index!.add(sample.name);
    }
  };
  addAll(start + 1);
  nowMs = (start + 16) * 1000; // past the first window and its grace
  aggregator?.tick(start + 16);
  addAll(start + 16);
  const perSeries = (heldBytes() - before) / SERIES;
  // Kept reachable until after the reading.
  if ((aggregator?.seriesCount ?? 0) < 0 || (index?.size ?? 0) < 0) throw new Error('unreachable');
  return perSeries;
}

export default async function run(): Promise<BenchRow[]> {
  const note = `${SERIES.toLocaleString('en-US')} series, times 10s:168h,1m:720h,10m:21600h, steady state (a window flushed, the next open)`;
  return [
    { name: 'accumulator memory per series: aggregator + index', value: measure(true, true), unit: 'bytes', note },
    { name: 'accumulator memory per series: aggregator alone', value: measure(true, false), unit: 'bytes', note },
    { name: 'accumulator memory per series: index alone', value: measure(false, true), unit: 'bytes', note },
  ];
}
