// Aggregation throughput on one core: Graphite samples into 100k series, StatsD samples, and the time one flush
// tick takes to close, merge and hand over a window of 100k series.
import type { FlushBatch, GraphiteSample, StatsdSample } from '@carillon/core';
import { Aggregator, DEFAULT_STATSD_OPTIONS } from '@carillon/aggregator';
import type { BenchRow } from '../../../bench/row.ts';
import { benchAggregatorOptions } from './bench-aggregator.ts';

const SERIES = 100_000;
const T0 = 1_700_000_000 - (1_700_000_000 % 600);

function setup() {
  let nowMs = T0 * 1000;
  const clock = { now: () => nowMs };
  let written = 0;
  const sink = { overloaded: () => false, write: (batch: FlushBatch) => (written += batch.names.length) };
  const aggregator = new Aggregator(benchAggregatorOptions(), DEFAULT_STATSD_OPTIONS, { sink, clock });
  return { aggregator, setNow: (s: number) => (nowMs = s * 1000), written: () => written };
}

const names = Array.from({ length: SERIES }, (_, i) => `servers.host${i % 1000}.app${Math.floor(i / 1000)}.latency`);

export default async function run(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];

  // Graphite: 10 samples per series per window, arrays built beforehand so only aggregation is timed.
  {
    const { aggregator, setNow } = setup();
    const samples: GraphiteSample[] = [];
    for (let round = 0; round < 10; round++)
      names.forEach((name, i) => samples.push({ name, value: i + round, timestamp: T0 + round }));
    aggregator.addGraphiteBatch(samples.slice(0, SERIES)); // registers the series
    setNow(T0 + 9);
    const started = process.hrtime.bigint();
    aggregator.addGraphiteBatch(samples);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    rows.push({
      name: 'graphite samples aggregated',
      value: samples.length / seconds,
      unit: 'samples/s',
      note: `${SERIES} series`,
    });
  }

  // StatsD: counters and timers over 100k keys, then the StatsD flush that computes their output.
  {
    const { aggregator, setNow } = setup();
    const samples: StatsdSample[] = [];
    for (let round = 0; round < 5; round++)
      for (let i = 0; i < SERIES; i++)
        samples.push({
          name: `app.k${i}`,
          type: i % 2 === 0 ? 'c' : 'ms',
          value: (i * 7 + round) % 500,
          member: '',
          sampleRate: 1,
          gaugeDelta: false,
        });
    setNow(T0 + 1);
    let started = process.hrtime.bigint();
    aggregator.addStatsdBatch(samples);
    let seconds = Number(process.hrtime.bigint() - started) / 1e9;
    rows.push({
      name: 'statsd samples taken in',
      value: samples.length / seconds,
      unit: 'samples/s',
      note: `${SERIES} keys, half timers`,
    });
    setNow(T0 + 10);
    started = process.hrtime.bigint();
    aggregator.tick(T0 + 10);
    seconds = Number(process.hrtime.bigint() - started) / 1e9;
    rows.push({ name: 'statsd flush (50k counters + 50k timers)', value: seconds * 1000, unit: 'ms' });
  }

  // Flush: one tick closing a 10 s window of 100k series (and merging it into the open minute).
  {
    const { aggregator, setNow, written } = setup();
    const samples = names.map((name, i) => ({ name, value: i, timestamp: T0 + 1 }));
    setNow(T0 + 1);
    aggregator.addGraphiteBatch(samples);
    setNow(T0 + 15);
    const started = process.hrtime.bigint();
    aggregator.tick(T0 + 15);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    rows.push({
      name: 'flush tick, 100k series window',
      value: seconds * 1000,
      unit: 'ms',
      note: `${written()} points written`,
    });
  }
  return rows;
}
