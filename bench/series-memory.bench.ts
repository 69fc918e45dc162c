// Memory per active series in an accumulator: the aggregator (series registry and open windows) and the query's
// series index, at the default `times`, for SERIES_MEMORY_BENCH_SERIES series (default 1,000,000) in steady
// state: every series has a row in the open window of every resolution, as it does once the node has run for a
// while (a coarser window is the merge of closed finer ones, so a series sending every 10 s is in the open 10 m,
// 1 m and 10 s windows at any moment). The clock is driven through one closed minute: see `measure`. Measured as
// V8 heap plus array buffers after a full garbage collection, before and after the series are added, so names,
// ids, window rows and index entries are all counted; the points' input arrays are dropped before the second
// reading. The goal: at most 200 bytes a series. Also the bytes of one window row of each resolution,
// from window tables filled directly (a 10 s row with one point, 1 m and 10 m rows with merged points).
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { FlushBatch, StatPoint } from '@carillon/core';
import { Aggregator, DEFAULT_STATSD_OPTIONS, WindowTable } from '@carillon/aggregator';
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
  // From the start of a ten-minute window T: points at T + 1 fill the 10 s, 1 m and 10 m windows at T; at T + 65
  // the 10 s window and then the 1 m window at T close (5 s grace), the minute merged into the open 10 m window;
  // points at T + 61 fill the 10 s window at T + 60, which closes at T + 75 into the open 1 m window at T + 60;
  // points at T + 71 fill the open 10 s window at T + 70. Every series now has one row in each open window, the
  // 1 m and 10 m rows merges of closed finer windows, and no closed window is held (the sink takes them all).
  const start = Math.floor(Date.now() / 1000 / 600) * 600 - 600;
  let nowMs = 0;
  let written = 0;
  const before = heldBytes();
  const index = withIndex ? new SeriesIndex({ maxSeries: SERIES * 2 }) : undefined;
  const aggregator = withAggregator
    ? new Aggregator(benchAggregatorOptions(), DEFAULT_STATSD_OPTIONS, {
        sink: { overloaded: () => false, write: (batch: FlushBatch) => void (written += batch.names.length) },
        clock: { now: () => nowMs },
      })
    : undefined;
  if (aggregator && index) aggregator.onNewSeries((name) => index.add(name));
  const addAll = (timestamp: number): void => {
    nowMs = Math.max(nowMs, timestamp * 1000);
    for (let first = 0; first < SERIES; first += BATCH) {
      const samples = [];
      for (let s = first; s < Math.min(SERIES, first + BATCH); s++)
        samples.push({ name: nameOf(s), value: s * 0.37 + timestamp, timestamp });
      if (aggregator) aggregator.addGraphiteBatch(samples);
      else for (const sample of samples) index!.add(sample.name);
    }
  };
  const tick = (seconds: number): void => {
    nowMs = seconds * 1000;
    aggregator?.tick(seconds);
  };
  addAll(start + 1);
  tick(start + 65);
  if (aggregator) addAll(start + 61);
  tick(start + 75);
  if (aggregator) {
    addAll(start + 71);
    // The 10 s and 1 m windows at T and the 10 s window at T + 60 closed and went to the sink, as described.
    if (written !== SERIES * 3) throw new Error(`${written} rows written, not 3 a series`);
  }
  const perSeries = (heldBytes() - before) / SERIES;
  // Kept reachable until after the reading.
  if ((aggregator?.seriesCount ?? 0) < 0 || (index?.size ?? 0) < 0) throw new Error('unreachable');
  return perSeries;
}

/** Bytes of one row of a window table of `step` seconds holding SERIES rows: added points (finest) or merges. */
function rowBytes(step: number, merged: boolean): number {
  const start = 600 * 3_000_000;
  const before = heldBytes();
  const table = new WindowTable(start, start + step, SERIES, !merged);
  const point: StatPoint = { time: start, min: -1.5, max: 7.25, sum: 30.5, first: 2, last: 3, count: step / 10 };
  for (let id = 0; id < SERIES; id++) {
    if (merged) {
      point.firstTime = start + (id % 10);
      point.lastTime = start + step - 1 - (id % 10);
      table.write(id, point);
    } else table.add(id, id * 0.37, start + (id % step));
  }
  const bytes = (heldBytes() - before) / SERIES;
  if (table.rows !== SERIES) throw new Error('unreachable');
  return bytes;
}

export default async function run(): Promise<BenchRow[]> {
  const note = `${SERIES.toLocaleString('en-US')} series, times 10s:168h,1m:720h,10m:21600h, steady state (a row in every open window)`;
  const rowNote = `${SERIES.toLocaleString('en-US')} rows`;
  return [
    { name: 'accumulator memory per series: aggregator + index', value: measure(true, true), unit: 'bytes', note },
    { name: 'accumulator memory per series: aggregator alone', value: measure(true, false), unit: 'bytes', note },
    { name: 'accumulator memory per series: index alone', value: measure(false, true), unit: 'bytes', note },
    { name: 'window row: 10 s, one point', value: rowBytes(10, false), unit: 'bytes', note: rowNote },
    { name: 'window row: 1 m, merged', value: rowBytes(60, true), unit: 'bytes', note: rowNote },
    { name: 'window row: 10 m, merged', value: rowBytes(600, true), unit: 'bytes', note: rowNote },
  ];
}
