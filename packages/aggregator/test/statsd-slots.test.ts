/**
 * The StatsD aggregator's flat per-interval slots against an oracle of Maps, Sets and a gauge object per key (the
 * layout the slots replaced): random traffic over thousands of keys (so every table grows), two intervals open at
 * once (samples after a boundary arrive before the grace-delayed flush), samples given as strings and as bytes,
 * and a bound on held values small enough to refuse some. Every (name, window) of every flush must be equal.
 */
import { describe, expect, it } from 'vitest';
import {
  hashBytes,
  reusableStatsdBytesSample,
  type StatsdBytesSample,
  type StatsdSample,
  type StatsdType,
} from '@carillon/core';
import {
  DEFAULT_STATSD_OPTIONS,
  StatsdAggregator,
  StatsdNames,
  computeTimer,
  emitIdleTimer,
  NO_BINS,
  percentileNames,
  timerMetricFilter,
  type StatsdOptions,
} from '@carillon/aggregator';

const STEP = 10;

type Flushes = Map<number, Map<string, number>>;

interface OracleInterval {
  counters: Map<string, number>;
  timers: Map<string, { values: number[]; count: number }>;
  gauges: Map<string, { replaced: boolean; value: number; deltas: number[] }>;
  sets: Map<string, Set<string>>;
  values: number;
}

/** StatsD per interval with a Map per type: what the slots must match. */
class Oracle {
  private readonly intervals = new Map<number, OracleInterval>();
  private readonly knownCounters = new Set<string>();
  private readonly knownTimers = new Set<string>();
  private readonly knownSets = new Set<string>();
  private readonly gauges = new Map<string, number>();
  private readonly names: StatsdNames;
  /** Values refused for room. */
  dropped = 0;
  constructor(
    private readonly options: StatsdOptions,
    private readonly maxValues: number,
  ) {
    this.names = new StatsdNames(options);
  }

  add(sample: StatsdSample, arrival: number): void {
    const start = arrival - (arrival % STEP);
    let state = this.intervals.get(start);
    if (state === undefined)
      this.intervals.set(
        start,
        (state = { counters: new Map(), timers: new Map(), gauges: new Map(), sets: new Map(), values: 0 }),
      );
    const hold = (): boolean => {
      if (state.values < this.maxValues) return ++state.values > 0;
      this.dropped++;
      return false;
    };
    const { name, value } = sample;
    if (sample.type === 'c')
      state.counters.set(name, (state.counters.get(name) ?? 0) + value * (1 / sample.sampleRate));
    else if (sample.type === 'ms' || sample.type === 'h' || sample.type === 'd') {
      if (!hold()) return;
      const timer = state.timers.get(name) ?? { values: [], count: 0 };
      state.timers.set(name, timer);
      timer.values.push(value);
      timer.count += 1 / sample.sampleRate;
    } else if (sample.type === 'g') {
      const ops = state.gauges.get(name);
      if (!sample.gaugeDelta) state.gauges.set(name, { replaced: true, value, deltas: [] });
      else if (ops?.replaced) ops.value += value;
      else if (hold()) {
        if (ops === undefined) state.gauges.set(name, { replaced: false, value: 0, deltas: [value] });
        else ops.deltas.push(value);
      }
    } else {
      const members = state.sets.get(name) ?? new Set<string>();
      state.sets.set(name, members);
      const member = sample.member === '' ? '0' : sample.member;
      if (!members.has(member) && hold()) members.add(member);
    }
  }

  flush(now: number, out: Flushes): void {
    const lastEnded = now - (now % STEP) - STEP;
    for (const start of [...this.intervals.keys()].sort((a, b) => a - b))
      if (start <= lastEnded) this.flushInterval(start, out);
  }

  private flushInterval(start: number, out: Flushes): void {
    const state = this.intervals.get(start)!;
    this.intervals.delete(start);
    const emitted = new Map<string, number>();
    out.set(start, emitted);
    const { names } = this;
    for (const key of state.counters.keys()) this.knownCounters.add(key);
    for (const key of this.knownCounters) {
      const value = state.counters.get(key) ?? 0;
      emitted.set(names.counterRate(key), value / STEP);
      emitted.set(names.counterCount(key), value);
    }
    const wanted = timerMetricFilter(this.options.calculatedTimerMetrics);
    for (const key of state.timers.keys()) this.knownTimers.add(key);
    for (const key of this.knownTimers) {
      const send = (metric: string, value: number): void => void emitted.set(names.timer(key, metric), value);
      const timer = state.timers.get(key);
      if (timer === undefined) emitIdleTimer(wanted, send);
      else {
        const values = Float64Array.from(timer.values).sort();
        computeTimer(values, timer.count, STEP, percentileNames(this.options.percentThreshold), NO_BINS, wanted, send);
      }
    }
    for (const [key, ops] of state.gauges) {
      let value = ops.value;
      if (!ops.replaced) {
        value = this.gauges.get(key) ?? 0;
        for (const delta of ops.deltas) value += delta;
      }
      this.gauges.set(key, value);
    }
    for (const [key, value] of this.gauges) emitted.set(names.gauge(key), value);
    for (const key of state.sets.keys()) this.knownSets.add(key);
    for (const key of this.knownSets) emitted.set(names.setCount(key), state.sets.get(key)?.size ?? 0);
  }
}

function random(seed: number): (n: number) => number {
  let state = seed;
  return (n) => ((state = (Math.imul(state, 1103515245) + 12345) >>> 0) >>> 8) % n;
}

const TYPES: StatsdType[] = ['c', 'c', 'ms', 'h', 'd', 'g', 'g', 's', 's'];

describe('StatsD interval slots', () => {
  it.each([
    ['room for every value', 1_000_000],
    ['values refused for room', 400],
  ])('flush as the Map oracle does: %s', (_what, maxValues) => {
    const next = random(maxValues);
    const options = DEFAULT_STATSD_OPTIONS;
    const statsd = new StatsdAggregator(options, STEP, maxValues, 1000);
    const oracle = new Oracle(options, maxValues);
    const got: Flushes = new Map();
    const expected: Flushes = new Map();
    const emit = (name: string, value: number, time: number): void => {
      let m = got.get(time);
      if (m === undefined) got.set(time, (m = new Map()));
      m.set(name, value);
    };
    const buf = Buffer.alloc(256);
    const bytesSample: StatsdBytesSample = reusableStatsdBytesSample(buf);
    // Six intervals; keys come and go, so later intervals have idle known keys and new ones.
    for (let second = 1000; second < 1060; second++) {
      const keys = 200 + 800 * ((second / STEP) % 3);
      for (let i = 0; i < 300; i++) {
        const type = TYPES[next(TYPES.length)]!;
        const name = `k${next(keys)}.${type}${next(5) === 0 ? ';env=prod' : ''}`;
        const delta = type === 'g' && next(2) === 0;
        const value = type === 's' ? NaN : (delta && next(2) === 0 ? -1 : 1) * (next(100_000) / 100);
        const member = type === 's' ? (next(10) === 0 ? '' : next(20) === 0 ? `é${next(9)}` : `${next(40)}`) : '';
        const sampleRate = next(4) === 0 ? 0.5 : 1;
        const sample: StatsdSample = { name, type, value, member, sampleRate, gaugeDelta: delta };
        oracle.add(sample, second);
        if (next(2) === 0 || member.includes('é')) statsd.add(sample, second);
        else {
          // As a listener hands a common line over: key and member as bytes inside a larger buffer.
          const keyStart = 3 + next(10);
          const keyEnd = keyStart + buf.write(name, keyStart, 'latin1');
          const memberStart = keyEnd + 1;
          const memberEnd = memberStart + buf.write(member, memberStart, 'latin1');
          Object.assign(bytesSample, {
            keyStart,
            keyEnd,
            keyHash: hashBytes(buf, keyStart, keyEnd),
            memberStart,
            memberEnd,
          });
          Object.assign(bytesSample, { type, value, sampleRate, gaugeDelta: delta });
          statsd.addBytes(bytesSample, second);
        }
      }
      // The flush runs 2 s after each boundary: the next interval's first samples are in already.
      if (second % STEP === 2) {
        statsd.flush(second, emit);
        oracle.flush(second, expected);
      }
    }
    expect(got.size).toBe(5);
    for (const [time, values] of expected) {
      expect(values.size).toBeGreaterThan(1000);
      expect(Object.fromEntries(got.get(time) ?? []), `window ${time}`).toEqual(Object.fromEntries(values));
    }
    expect(statsd.counts.valuesDropped).toBe(oracle.dropped);
    if (maxValues < 1000) expect(oracle.dropped).toBeGreaterThan(1000);
  });
});
