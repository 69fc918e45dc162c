import {
  hashBytes,
  reusableStatsdBytesSample,
  windowStart,
  type StatsdBytesSample,
  type StatsdSample,
} from '@carillon/core';
import { ByteKeyTable } from './byte-key-table.js';
import { IntPairSet } from './int-pair-set.js';
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

/** Keys per table of an interval. */
interface IntervalSizes {
  counters: number;
  timers: number;
  timerValues: number;
  gauges: number;
  sets: number;
  memberNumbers: number;
  members: number;
}
const NO_SIZES: IntervalSizes = {
  counters: 0,
  timers: 0,
  timerValues: 0,
  gauges: 0,
  sets: 0,
  memberNumbers: 0,
  members: 0,
};

/**
 * Everything that arrived in one flush interval, in flat arrays: per metric type a ByteKeyTable numbers the
 * interval's keys 0, 1, 2, ... (their slots) by their bytes, and each type's values sit in typed arrays by slot.
 * A sample then costs a probe of a compact table and writes memory that stays in cache, where a Map keyed by
 * strings, an object per gauge and a Set per set key cost cache misses per sample. Timer values and gauge deltas
 * are appended to logs, grouped by slot only at flush; a set's members are (set slot, member number) pairs in one flat set.
 */
class IntervalState {
  readonly counters: ByteKeyTable;
  counterSums: Float64Array;
  readonly timers: ByteKeyTable;
  /** Per timer slot, the sum of 1 / sampleRate: the reference's timer_counters. */
  timerCounts: Float64Array;
  /** Timer values in arrival order, and the slot of each. */
  timerLog: Float64Array;
  timerLogSlots: Int32Array;
  timerLogLength = 0;
  readonly gauges: ByteKeyTable;
  /** Per gauge slot: 1 once a value replaced it this interval, and the value after that and later deltas. */
  gaugeReplaced: Uint8Array;
  gaugeValues: Float64Array;
  /** Deltas to a gauge not replaced (yet), in arrival order, and the slot of each: summed one by one at flush. */
  gaugeDeltaLog = new Float64Array(256);
  gaugeDeltaSlots = new Int32Array(256);
  gaugeDeltaLength = 0;
  readonly sets: ByteKeyTable;
  /** Set members numbered by their bytes (the same member of any set, one number). */
  readonly memberNumbers: ByteKeyTable;
  /** (set slot, member number): each member of each set once. */
  readonly members: IntPairSet;
  setSizes: Int32Array;
  /** Timer values, set members and gauge deltas held: what `maxValues` bounds. */
  values = 0;
  /** Slots of keys another member owns (dropDisowned), per table: left out of the flush. */
  readonly disowned = new Map<ByteKeyTable, Set<number>>();

  /** `sizes`: key counts of an interval before, so this one's tables and arrays seldom grow. */
  constructor(
    readonly start: number,
    sizes: IntervalSizes = NO_SIZES,
  ) {
    this.counters = new ByteKeyTable(sizes.counters);
    this.counterSums = new Float64Array(Math.max(256, sizes.counters));
    this.timers = new ByteKeyTable(sizes.timers);
    this.timerCounts = new Float64Array(Math.max(256, sizes.timers));
    this.timerLog = new Float64Array(Math.max(4096, sizes.timerValues));
    this.timerLogSlots = new Int32Array(this.timerLog.length);
    this.gauges = new ByteKeyTable(sizes.gauges);
    this.gaugeReplaced = new Uint8Array(Math.max(256, sizes.gauges));
    this.gaugeValues = new Float64Array(this.gaugeReplaced.length);
    this.sets = new ByteKeyTable(sizes.sets);
    this.memberNumbers = new ByteKeyTable(sizes.memberNumbers);
    this.members = new IntPairSet(sizes.members);
    this.setSizes = new Int32Array(Math.max(256, sizes.sets));
  }

  get sizes(): IntervalSizes {
    return {
      counters: this.counters.size,
      timers: this.timers.size,
      timerValues: this.timerLogLength,
      gauges: this.gauges.size,
      sets: this.sets.size,
      memberNumbers: this.memberNumbers.size,
      members: this.members.size,
    };
  }

  addCounter(slot: number, add: number): void {
    if (slot === this.counterSums.length) this.counterSums = grown(this.counterSums);
    this.counterSums[slot] = this.counterSums[slot]! + add;
  }

  addTimerValue(slot: number, value: number, count: number): void {
    if (slot === this.timerCounts.length) this.timerCounts = grown(this.timerCounts);
    this.timerCounts[slot] = this.timerCounts[slot]! + count;
    const at = this.timerLogLength++;
    if (at === this.timerLog.length) {
      this.timerLog = grown(this.timerLog);
      this.timerLogSlots = grown(this.timerLogSlots);
    }
    this.timerLog[at] = value;
    this.timerLogSlots[at] = slot;
  }

  /** Makes sure gauge slot `slot` (at most one past the last) has room. */
  gaugeRoom(slot: number): void {
    if (slot === this.gaugeValues.length) {
      this.gaugeValues = grown(this.gaugeValues);
      this.gaugeReplaced = grown(this.gaugeReplaced);
    }
  }

  logGaugeDelta(slot: number, delta: number): void {
    const at = this.gaugeDeltaLength++;
    if (at === this.gaugeDeltaLog.length) {
      this.gaugeDeltaLog = grown(this.gaugeDeltaLog);
      this.gaugeDeltaSlots = grown(this.gaugeDeltaSlots);
    }
    this.gaugeDeltaLog[at] = delta;
    this.gaugeDeltaSlots[at] = slot;
  }

  /** Timer values grouped by slot: slot s holds values[offsets[s], offsets[s + 1]), in arrival order. */
  timerValues(): { values: Float64Array; offsets: Int32Array } {
    const slots = this.timers.size;
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

  /** Whether `slot` of `table` was dropped as disowned. */
  isDisowned(table: ByteKeyTable, slot: number): boolean {
    return this.disowned.get(table)?.has(slot) ?? false;
  }

  disown(table: ByteKeyTable, slot: number): void {
    let slots = this.disowned.get(table);
    if (slots === undefined) this.disowned.set(table, (slots = new Set()));
    slots.add(slot);
  }
}

/** The member an empty one stands for. */
const ZERO = new Uint8Array([0x30]);

/** The slot of the sample's key in `table`: by its name when given as a string, else by its bytes. */
function keyIn(table: ByteKeyTable, sample: StatsdBytesSample, name: string | undefined): number {
  return name === undefined
    ? table.add(sample.bytes, sample.keyStart, sample.keyEnd, sample.keyHash)
    : table.addName(name);
}

/** `array` copied into one twice its length. */
function grown<T extends Float64Array | Int32Array | Uint8Array>(array: T): T {
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
  /** A string sample's numbers (add), handed on with its name and member beside them. */
  private readonly scalars: StatsdBytesSample = reusableStatsdBytesSample(ZERO);
  /** Key counts of the interval last flushed: the next interval's tables start that big. */
  private lastSizes = NO_SIZES;

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

  /** Adds a sample that arrived at `arrivalSeconds`: its name and member meet the slots of their UTF-8 bytes. */
  add(sample: StatsdSample, arrivalSeconds: number): void {
    const scalars = this.scalars;
    scalars.type = sample.type;
    scalars.value = sample.value;
    scalars.sampleRate = sample.sampleRate;
    scalars.gaugeDelta = sample.gaugeDelta;
    // The reference stores `member || '0'`.
    this.addKeyed(scalars, arrivalSeconds, sample.name, sample.member === '' ? '0' : sample.member);
  }

  /** Adds a sample read from bytes (the common line) that arrived at `arrivalSeconds`. */
  addBytes(sample: StatsdBytesSample, arrivalSeconds: number): void {
    this.addKeyed(sample, arrivalSeconds, undefined, undefined);
  }

  /**
   * The key and member are `name` and `member` when given as strings (`sample` then holds only the scalars),
   * else byte ranges of `sample.bytes`.
   */
  private addKeyed(
    sample: StatsdBytesSample,
    arrivalSeconds: number,
    name: string | undefined,
    member: string | undefined,
  ): void {
    const state = this.stateFor(windowStart(arrivalSeconds, this.stepSeconds));
    let type = sample.type;
    if ((type === 'h' || type === 'd') && this.options.compatHAndDAsCounters) type = 'c';
    switch (type) {
      case 'c':
        // value * (1 / rate), not value / rate: the reference's float expression.
        state.addCounter(keyIn(state.counters, sample, name), sample.value * (1 / sample.sampleRate));
        return;
      case 'ms':
      case 'h':
      case 'd':
        if (!this.hold(state)) return;
        state.addTimerValue(keyIn(state.timers, sample, name), sample.value, 1 / sample.sampleRate);
        return;
      case 'g': {
        const gauges = state.gauges;
        if (!sample.gaugeDelta) {
          const slot = keyIn(gauges, sample, name);
          state.gaugeRoom(slot);
          state.gaugeReplaced[slot] = 1;
          state.gaugeValues[slot] = sample.value;
          return;
        }
        let slot =
          name === undefined
            ? gauges.find(sample.bytes, sample.keyStart, sample.keyEnd, sample.keyHash)
            : gauges.findName(name);
        if (slot >= 0 && state.gaugeReplaced[slot] === 1) {
          state.gaugeValues[slot] = state.gaugeValues[slot]! + sample.value;
          return;
        }
        // A delta refused for room leaves no trace: not even the gauge's key.
        if (!this.hold(state)) return;
        if (slot < 0) {
          slot = keyIn(gauges, sample, name);
          state.gaugeRoom(slot);
        }
        state.logGaugeDelta(slot, sample.value);
        return;
      }
      case 's': {
        const set = keyIn(state.sets, sample, name);
        if (set === state.setSizes.length) state.setSizes = grown(state.setSizes);
        // The reference stores `member || '0'`.
        let memberBytes = sample.bytes;
        let memberStart = sample.memberStart;
        let memberEnd = sample.memberEnd;
        if (member === undefined && memberStart === memberEnd) {
          memberBytes = ZERO;
          memberStart = 0;
          memberEnd = 1;
        }
        const numbers = state.memberNumbers;
        if (state.values < this.maxIntervalValues) {
          // Room for a new member, so add at once: one probe, and a new member is held (what hold() counts).
          const number =
            member !== undefined
              ? numbers.addName(member)
              : numbers.add(memberBytes, memberStart, memberEnd, hashBytes(memberBytes, memberStart, memberEnd));
          if (state.members.add(set, number)) {
            state.values++;
            state.setSizes[set]!++;
          }
          return;
        }
        // No room: a member already held is fine, a new one is refused (and not numbered: the bound holds).
        const number =
          member !== undefined
            ? numbers.findName(member)
            : numbers.find(memberBytes, memberStart, memberEnd, hashBytes(memberBytes, memberStart, memberEnd));
        if (number < 0 || !state.members.has(set, number)) this.counts.valuesDropped++;
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
      state = new IntervalState(start, this.lastSizes);
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
    this.lastSizes = state.sizes;
    if (start > this.flushedThrough) this.flushedThrough = start;
    this.dropDisowned(state);
    const { options, names, stepSeconds } = this;

    // Counters: rate per second and count; idle ones send 0 unless deleteCounters.
    const counters = state.counters;
    const sendCounter = (key: string, value: number): void => {
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
    };
    if (options.deleteCounters) {
      for (let slot = 0; slot < counters.size; slot++)
        if (!state.isDisowned(counters, slot)) sendCounter(counters.nameOf(slot), state.counterSums[slot]!);
    } else {
      for (let slot = 0; slot < counters.size; slot++)
        if (!state.isDisowned(counters, slot)) this.knownCounters.add(counters.nameOf(slot));
      for (const key of this.knownCounters) {
        const slot = counters.size === 0 ? -1 : counters.findName(key);
        sendCounter(key, slot < 0 ? 0 : state.counterSums[slot]!);
      }
    }

    // Timers: the full statistics, or count/count_ps 0 for a kept idle timer.
    const timers = state.timers;
    const timerValues = state.timerValues();
    const sendTimer = (key: string, slot: number): void => {
      const cache = this.namesOf(key);
      const send = (metric: string, value: number): void =>
        emit(
          cached(cache, metric, () => names.timer(key, metric)),
          value,
          stamp,
        );
      const from = slot < 0 ? 0 : timerValues.offsets[slot]!;
      const to = slot < 0 ? 0 : timerValues.offsets[slot + 1]!;
      if (to === from) {
        emitIdleTimer(this.wanted, send);
        return;
      }
      const values = timerValues.values.subarray(from, to).sort();
      const bins = histogramBinsFor(options.histogram, this.bins, key);
      computeTimer(values, state.timerCounts[slot]!, stepSeconds, this.percentiles, bins, this.wanted, send);
    };
    if (options.deleteTimers) {
      for (let slot = 0; slot < timers.size; slot++)
        if (!state.isDisowned(timers, slot)) sendTimer(timers.nameOf(slot), slot);
    } else {
      for (let slot = 0; slot < timers.size; slot++)
        if (!state.isDisowned(timers, slot)) this.knownTimers.add(timers.nameOf(slot));
      for (const key of this.knownTimers) sendTimer(key, timers.size === 0 ? -1 : timers.findName(key));
    }

    // Gauges keep their value across flushes; with deleteGauges they expire after gaugesMaxTTL idle flushes.
    // A gauge only given deltas starts from its kept value and adds them one by one, in arrival order.
    const gauges = state.gauges;
    const gaugeValues = state.gaugeValues;
    for (let slot = 0; slot < gauges.size; slot++)
      if (state.gaugeReplaced[slot] === 0) gaugeValues[slot] = this.gauges.get(gauges.nameOf(slot))?.value ?? 0;
    for (let i = 0; i < state.gaugeDeltaLength; i++) {
      const slot = state.gaugeDeltaSlots[i]!;
      if (state.gaugeReplaced[slot] === 0) gaugeValues[slot] = gaugeValues[slot]! + state.gaugeDeltaLog[i]!;
    }
    for (let slot = 0; slot < gauges.size; slot++) {
      if (state.isDisowned(gauges, slot)) continue;
      const key = gauges.nameOf(slot);
      const gauge = this.gauges.get(key);
      const value = gaugeValues[slot]!;
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
    const sets = state.sets;
    const sendSet = (key: string, size: number): void =>
      emit(
        cached(this.namesOf(key), ':set', () => names.setCount(key)),
        size,
        stamp,
      );
    if (options.deleteSets) {
      for (let slot = 0; slot < sets.size; slot++)
        if (!state.isDisowned(sets, slot)) sendSet(sets.nameOf(slot), state.setSizes[slot]!);
    } else {
      for (let slot = 0; slot < sets.size; slot++)
        if (!state.isDisowned(sets, slot)) this.knownSets.add(sets.nameOf(slot));
      for (const key of this.knownSets) {
        const slot = sets.size === 0 ? -1 : sets.findName(key);
        sendSet(key, slot < 0 ? 0 : state.setSizes[slot]!);
      }
    }

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
    const sweep = (kept: Set<string> | Map<string, unknown>, interval: ByteKeyTable): void => {
      for (const key of kept.keys())
        if (!owns(key, start)) {
          kept.delete(key);
          const slot = interval.findName(key);
          if (slot >= 0) state.disown(interval, slot);
          dropped++;
        }
      // Keys new in this interval (kept ones still here were just found owned).
      for (let slot = 0; slot < interval.size; slot++) {
        if (state.isDisowned(interval, slot)) continue;
        const key = interval.nameOf(slot);
        if (!kept.has(key) && !owns(key, start)) {
          state.disown(interval, slot);
          dropped++;
        }
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
