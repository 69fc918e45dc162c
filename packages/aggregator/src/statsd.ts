import { windowStart, type StatsdSample } from '@carillon/core';
import { StatsdNames } from './statsd-names.js';
import type { StatsdOptions } from './statsd-options.js';
import {
  binsOf,
  computeTimer,
  emitIdleTimer,
  histogramBinsFor,
  percentileNames,
  timerMetricFilter,
  type Bins,
  type PercentileNames,
} from './timer-stats.js';

/** Receives one StatsD output value for the window `time` (the start of the flush interval it covers). */
export type StatsdEmit = (name: string, value: number, time: number) => void;

/**
 * Whether this aggregator owns the StatsD key `name` (its canonical name) for the flush interval starting at
 * `windowStart`. In a cluster another member may own it from some window on (the ring changed); the aggregator
 * itself knows nothing of rings.
 */
export type StatsdKeyOwnership = (name: string, windowStart: number) => boolean;

/** What one flush interval did to a gauge: replaced it (then maybe added deltas), or only added deltas. */
interface GaugeOps {
  replaced: boolean;
  /** The value after the last replacement and the deltas since (when `replaced`). */
  value: number;
  /** Deltas in arrival order, applied one by one at flush so float sums match the reference. */
  deltas: number[];
}

/**
 * Everything that arrived in one flush interval. Counters and timers are numbered slots in flat arrays rather
 * than an object per key: a sample then costs one Map probe and writes memory that stays in cache (timer values
 * are appended to one log, grouped by key only at flush), where objects per key cost cache misses per sample.
 */
class IntervalState {
  /** Counter key → its slot in counterSums. */
  readonly counters = new Map<string, number>();
  counterSums = new Float64Array(256);
  private counterSlots = 0;
  /** Timer key → its slot in timerCounts, which its values in timerLog carry. */
  readonly timers = new Map<string, number>();
  /** Slots numbered (a flush may drop keys from `timers`, never their slots). */
  private timerSlots = 0;
  /** Per timer slot, the sum of 1 / sampleRate: the reference's timer_counters. */
  timerCounts = new Float64Array(256);
  /** Timer values in arrival order, and the slot of each. */
  timerLog = new Float64Array(4096);
  timerLogSlots = new Int32Array(4096);
  timerLogLength = 0;
  readonly gauges = new Map<string, GaugeOps>();
  readonly sets = new Map<string, Set<string>>();
  /** Timer values, set members and gauge deltas held: what `maxValues` bounds. */
  values = 0;
  constructor(readonly start: number) {}

  /** The slot of counter `name`, numbered on its first sample. */
  counterSlot(name: string): number {
    let slot = this.counters.get(name);
    if (slot === undefined) {
      slot = this.counterSlots++;
      this.counters.set(name, slot);
      if (slot === this.counterSums.length) this.counterSums = grown(this.counterSums);
    }
    return slot;
  }

  addTimerValue(name: string, value: number, count: number): void {
    let slot = this.timers.get(name);
    if (slot === undefined) {
      slot = this.timerSlots++;
      this.timers.set(name, slot);
      if (slot === this.timerCounts.length) this.timerCounts = grown(this.timerCounts);
    }
    this.timerCounts[slot] = this.timerCounts[slot]! + count;
    const at = this.timerLogLength++;
    if (at === this.timerLog.length) {
      this.timerLog = grown(this.timerLog);
      this.timerLogSlots = grown(this.timerLogSlots);
    }
    this.timerLog[at] = value;
    this.timerLogSlots[at] = slot;
  }

  /** Timer values grouped by slot: slot s holds values[offsets[s], offsets[s + 1]), in arrival order. */
  timerValues(): { values: Float64Array; offsets: Int32Array } {
    const slots = this.timerSlots;
    const offsets = new Int32Array(slots + 1);
    const log = this.timerLogSlots;
    const n = this.timerLogLength;
    for (let i = 0; i < n; i++) offsets[log[i]! + 1]!++;
    for (let s = 0; s < slots; s++) offsets[s + 1]! += offsets[s]!;
    const next = offsets.slice(0, slots);
    const values = new Float64Array(n);
    for (let i = 0; i < n; i++) values[next[log[i]!]!++] = this.timerLog[i]!;
    return { values, offsets };
  }
}

/** `array` copied into one twice its length. */
function grown<T extends Float64Array | Int32Array>(array: T): T {
  const bigger = new (array.constructor as new (length: number) => T)(array.length * 2);
  bigger.set(array);
  return bigger;
}

export interface StatsdCounts {
  /** Timer values, set members and gauge deltas refused because the interval held `maxIntervalValues`. */
  valuesDropped: number;
  /**
   * Keys whose state was dropped at a flush because another member owns them for that interval: one per key and
   * type (counter, timer, gauge, set), with whatever the interval held for it.
   */
  keysDisowned: number;
}

/**
 * StatsD semantics of the reference daemon (statsd 0.9.0): counters, gauges with deltas, timers (`ms`, and
 * `h`/`d` like timers), sets, idle handling. Samples are kept per flush interval by arrival time, so a sample
 * that arrives after a boundary but before the (grace-delayed) flush tick counts in the next interval, as it
 * would in the reference, whose flush runs on the boundary.
 */
export class StatsdAggregator {
  private readonly intervals = new Map<number, IntervalState>();
  private current: IntervalState | undefined;
  /** Start of the last interval flushed; intervals up to it are done. */
  private flushedThrough: number;
  private readonly knownCounters = new Set<string>();
  private readonly knownTimers = new Set<string>();
  private readonly knownSets = new Set<string>();
  private readonly gauges = new Map<string, { value: number; ttl: number }>();
  private readonly names: StatsdNames;
  private readonly wanted: (key: string) => boolean;
  private readonly percentiles: PercentileNames[];
  private readonly bins: Bins[];
  /**
   * Output names per StatsD key and metric, kept between flushes: building and hashing ~15 new strings per
   * timer per flush costs more than the maths. Cleared when it outgrows the keys still in use.
   */
  private nameCache = new Map<string, Map<string, string>>();
  readonly counts: StatsdCounts = { valuesDropped: 0, keysDisowned: 0 };

  constructor(
    readonly options: StatsdOptions,
    readonly stepSeconds: number,
    /** Bound on timer values + set members + gauge deltas held for one interval. */
    private readonly maxIntervalValues: number,
    nowSeconds: number,
    /** When set, a flush emits only keys owned for its interval and drops the state of the others. */
    private readonly ownsKey?: StatsdKeyOwnership,
  ) {
    this.names = new StatsdNames(options);
    this.wanted = timerMetricFilter(options.calculatedTimerMetrics);
    this.percentiles = percentileNames(options.percentThreshold);
    this.bins = options.histogram.map(binsOf);
    this.flushedThrough = windowStart(nowSeconds, stepSeconds) - stepSeconds;
  }

  /** Series names StatsD keys currently produce output for (known keys and live gauges). */
  get keyCount(): number {
    let keys = this.gauges.size + this.knownCounters.size + this.knownTimers.size + this.knownSets.size;
    for (const state of this.intervals.values())
      keys += state.counters.size + state.timers.size + state.sets.size + state.gauges.size;
    return keys;
  }

  /** After a restart: intervals before `watermark` were flushed before it and are not flushed again. */
  resumeAfter(watermark: number): void {
    this.flushedThrough = windowStart(watermark, this.stepSeconds) - this.stepSeconds;
  }

  add(sample: StatsdSample, arrivalSeconds: number): void {
    const state = this.stateFor(windowStart(arrivalSeconds, this.stepSeconds));
    const name = sample.name;
    let type = sample.type;
    if ((type === 'h' || type === 'd') && this.options.compatHAndDAsCounters) type = 'c';
    switch (type) {
      case 'c': {
        // value * (1 / rate), not value / rate: the reference's float expression.
        const add = sample.value * (1 / sample.sampleRate);
        const slot = state.counterSlot(name);
        state.counterSums[slot] = state.counterSums[slot]! + add;
        return;
      }
      case 'ms':
      case 'h':
      case 'd': {
        if (!this.hold(state)) return;
        state.addTimerValue(name, sample.value, 1 / sample.sampleRate);
        return;
      }
      case 'g': {
        const ops = state.gauges.get(name);
        if (!sample.gaugeDelta) {
          if (ops === undefined) state.gauges.set(name, { replaced: true, value: sample.value, deltas: [] });
          else {
            ops.replaced = true;
            ops.value = sample.value;
            ops.deltas.length = 0;
          }
        } else if (ops?.replaced) {
          ops.value += sample.value;
        } else {
          if (!this.hold(state)) return;
          if (ops === undefined) state.gauges.set(name, { replaced: false, value: 0, deltas: [sample.value] });
          else ops.deltas.push(sample.value);
        }
        return;
      }
      case 's': {
        let members = state.sets.get(name);
        if (members === undefined) {
          members = new Set<string>();
          state.sets.set(name, members);
        }
        // The reference stores `member || '0'`.
        const member = sample.member === '' ? '0' : sample.member;
        if (state.values < this.maxIntervalValues) {
          // Room for a new member, so add at once: one lookup, and a new member is held (what hold() counts).
          const size = members.size;
          if (members.add(member).size > size) state.values++;
          return;
        }
        if (members.has(member)) return;
        if (!this.hold(state)) return;
        members.add(member);
        return;
      }
    }
  }

  /**
   * Flushes every interval that ended at or before `nowSeconds`, oldest first. Like the reference (one flush
   * per timer firing), intervals skipped entirely (a stalled process) produce nothing; the interval that just
   * ended is always flushed, so idle keys get their zeros.
   */
  flush(nowSeconds: number, emit: StatsdEmit): void {
    const lastEnded = windowStart(nowSeconds, this.stepSeconds) - this.stepSeconds;
    const starts = [...this.intervals.keys()].filter((start) => start <= lastEnded);
    if (lastEnded > this.flushedThrough && !this.intervals.has(lastEnded)) starts.push(lastEnded);
    starts.sort((a, b) => a - b);
    for (const start of starts) this.flushInterval(start, emit);
  }

  /** Flushes every interval including the one in progress (shutdown). */
  flushAll(emit: StatsdEmit): void {
    const starts = [...this.intervals.keys()].sort((a, b) => a - b);
    for (const start of starts) this.flushInterval(start, emit);
  }

  private stateFor(start: number): IntervalState {
    const current = this.current;
    if (current !== undefined && current.start === start) return current;
    let state = this.intervals.get(start);
    if (state === undefined) {
      state = new IntervalState(start);
      this.intervals.set(start, state);
    }
    this.current = state;
    return state;
  }

  private hold(state: IntervalState): boolean {
    if (state.values >= this.maxIntervalValues) {
      this.counts.valuesDropped++;
      return false;
    }
    state.values++;
    return true;
  }

  private flushInterval(start: number, emit: StatsdEmit): void {
    const state = this.intervals.get(start) ?? new IntervalState(start);
    // The reference stamps values with the flush time, the end of the interval: the next window.
    const stamp = this.options.compatStampAtFlushTime ? start + this.stepSeconds : start;
    this.intervals.delete(start);
    if (state === this.current) this.current = undefined;
    if (start > this.flushedThrough) this.flushedThrough = start;
    this.dropDisowned(state);
    const { options, names, stepSeconds } = this;

    // Counters: rate per second and count; idle ones send 0 unless deleteCounters.
    if (!options.deleteCounters) for (const key of state.counters.keys()) this.knownCounters.add(key);
    const counterKeys = options.deleteCounters ? state.counters.keys() : this.knownCounters.values();
    for (const key of counterKeys) {
      const slot = state.counters.get(key);
      const value = slot === undefined ? 0 : state.counterSums[slot]!;
      const cache = this.namesOf(key);
      emit(
        cached(cache, ':rate', () => names.counterRate(key)),
        value / stepSeconds,
        stamp,
      );
      if (options.flushCounts)
        emit(
          cached(cache, ':count', () => names.counterCount(key)),
          value,
          stamp,
        );
    }

    // Timers: the full statistics, or count/count_ps 0 for a kept idle timer.
    if (!options.deleteTimers) for (const key of state.timers.keys()) this.knownTimers.add(key);
    const timerKeys = options.deleteTimers ? state.timers.keys() : this.knownTimers.values();
    const timerValues = state.timerValues();
    for (const key of timerKeys) {
      const slot = state.timers.get(key);
      const cache = this.namesOf(key);
      const send = (metric: string, value: number): void =>
        emit(
          cached(cache, metric, () => names.timer(key, metric)),
          value,
          stamp,
        );
      const from = slot === undefined ? 0 : timerValues.offsets[slot]!;
      const to = slot === undefined ? 0 : timerValues.offsets[slot + 1]!;
      if (to === from) {
        emitIdleTimer(this.wanted, send);
        continue;
      }
      const values = timerValues.values.subarray(from, to).sort();
      const bins = histogramBinsFor(options.histogram, this.bins, key);
      computeTimer(values, state.timerCounts[slot!]!, stepSeconds, this.percentiles, bins, this.wanted, send);
    }

    // Gauges keep their value across flushes; with deleteGauges they expire after gaugesMaxTTL idle flushes.
    for (const [key, ops] of state.gauges) {
      const gauge = this.gauges.get(key);
      let value: number;
      if (ops.replaced) value = ops.value;
      else {
        value = gauge?.value ?? 0;
        for (const delta of ops.deltas) value += delta;
      }
      if (gauge === undefined) this.gauges.set(key, { value, ttl: options.gaugesMaxTTL });
      else {
        gauge.value = value;
        gauge.ttl = options.gaugesMaxTTL;
      }
    }
    for (const [key, gauge] of this.gauges) {
      emit(
        cached(this.namesOf(key), ':gauge', () => names.gauge(key)),
        gauge.value,
        stamp,
      );
      if (options.deleteGauges && --gauge.ttl < 1) this.gauges.delete(key);
    }

    // Sets: the number of unique members; idle ones send 0 unless deleteSets.
    if (!options.deleteSets) for (const key of state.sets.keys()) this.knownSets.add(key);
    const setKeys = options.deleteSets ? state.sets.keys() : this.knownSets.values();
    for (const key of setKeys)
      emit(
        cached(this.namesOf(key), ':set', () => names.setCount(key)),
        state.sets.get(key)?.size ?? 0,
        stamp,
      );

    // Keys deleted as idle leave their names behind: start over when the cache holds far more than is in use.
    const inUse = this.knownCounters.size + this.knownTimers.size + this.knownSets.size + this.gauges.size;
    if (this.nameCache.size > 2 * Math.max(inUse, state.counters.size + state.timers.size + state.sets.size))
      this.nameCache = new Map();
  }

  /**
   * Drops every key another member owns for the interval `state.start` (the ring moved it), counted: otherwise
   * this member would go on writing idle zeros, the last gauge value or idle timers and sets for a (key, window)
   * whose owner writes the real values. Checked against the interval, not the stamp: the interval's samples are
   * what its owner was sent.
   */
  private dropDisowned(state: IntervalState): void {
    const owns = this.ownsKey;
    if (owns === undefined) return;
    const start = state.start;
    let dropped = 0;
    const sweep = (kept: Set<string> | Map<string, unknown>, interval: Map<string, unknown>): void => {
      for (const key of kept.keys())
        if (!owns(key, start)) {
          kept.delete(key);
          interval.delete(key);
          dropped++;
        }
      // Keys new in this interval (kept ones still here were just found owned).
      for (const key of interval.keys())
        if (!kept.has(key) && !owns(key, start)) {
          interval.delete(key);
          dropped++;
        }
    };
    sweep(this.knownCounters, state.counters);
    sweep(this.knownTimers, state.timers);
    sweep(this.knownSets, state.sets);
    sweep(this.gauges, state.gauges);
    this.counts.keysDisowned += dropped;
  }

  private namesOf(key: string): Map<string, string> {
    let names = this.nameCache.get(key);
    if (names === undefined) {
      names = new Map();
      this.nameCache.set(key, names);
    }
    return names;
  }
}

function cached(names: Map<string, string>, metric: string, build: () => string): string {
  let name = names.get(metric);
  if (name === undefined) {
    name = build();
    names.set(metric, name);
  }
  return name;
}
