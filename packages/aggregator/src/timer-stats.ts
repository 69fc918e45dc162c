import type { HistogramRule } from './statsd-options.js';

/** Receives one computed timer value: `metric` is the reference's key, e.g. `mean_90` or `histogram.bin_10`. */
export type TimerValueSink = (metric: string, value: number) => void;

/**
 * Which timer values are sent: the reference's `calculatedTimerMetrics` filter, which names percentile values
 * generically (`mean_90`, `upper_top5` → `mean_percent`, `upper_percent`). Empty means all.
 */
export function timerMetricFilter(calculated: readonly string[]): (key: string) => boolean {
  if (calculated.length === 0) return () => true;
  const allowed = new Set(calculated);
  return (key) => allowed.has(key.replace(/_(top)?\d+$/, '_percent'));
}

/** The reference's percentile suffix: `90` → `90`, `99.9` → `99_9`, `-10` → `top10`. */
export function percentSuffix(pct: number): string {
  return String(pct).replace('.', '_').replace('-', 'top');
}

/** The metric names one percentile threshold produces, built once rather than per timer per flush. */
export interface PercentileNames {
  pct: number;
  count: string;
  mean: string;
  bound: string;
  sum: string;
  sumSquares: string;
}

export function percentileNames(percentThreshold: readonly number[]): PercentileNames[] {
  return percentThreshold.map((pct) => {
    const suffix = percentSuffix(pct);
    return {
      pct,
      count: `count_${suffix}`,
      mean: `mean_${suffix}`,
      bound: `${pct > 0 ? 'upper_' : 'lower_'}${suffix}`,
      sum: `sum_${suffix}`,
      sumSquares: `sum_squares_${suffix}`,
    };
  });
}

/** Histogram bins with their metric names (`histogram.bin_5_5`). */
export interface Bins {
  bounds: HistogramRule['bins'];
  names: string[];
}

export const NO_BINS: Bins = { bounds: [], names: [] };

export function binsOf(rule: HistogramRule): Bins {
  return { bounds: rule.bins, names: rule.bins.map((bin) => `histogram.bin_${String(bin).replace('.', '_')}`) };
}

/** The bins of the first histogram rule whose `metric` occurs in `key` (reference: substring, first match). */
export function histogramBinsFor(rules: readonly HistogramRule[], bins: readonly Bins[], key: string): Bins {
  for (let i = 0; i < rules.length; i++) if (key.includes(rules[i]!.metric)) return bins[i]!;
  return NO_BINS;
}

/**
 * One flush of one timer, with the reference daemon's maths (lib/process_metrics.js) step for step, so that
 * float results match it bit for bit. `values` must be sorted ascending and non-empty; `count` is the
 * sample-rate-weighted count (sum of 1/sampleRate).
 *
 * Deliberate deviation: for a negative threshold that takes every value (e.g. -90 of 2 values) the reference
 * reads `cumulativeValues[-1]` and sends NaN; we take that missing prefix sum as 0, which is the intended value.
 */
export function computeTimer(
  values: Float64Array,
  count: number,
  stepSeconds: number,
  percentiles: readonly PercentileNames[],
  bins: Bins,
  wanted: (key: string) => boolean,
  emit: TimerValueSink,
): void {
  const n = values.length;
  const min = values[0]!;
  const max = values[n - 1]!;
  const cumulative = new Float64Array(n);
  const cumulativeSquares = new Float64Array(n);
  cumulative[0] = min;
  cumulativeSquares[0] = min * min;
  for (let i = 1; i < n; i++) {
    cumulative[i] = values[i]! + cumulative[i - 1]!;
    cumulativeSquares[i] = values[i]! * values[i]! + cumulativeSquares[i - 1]!;
  }
  const send = (key: string, value: number): void => {
    if (wanted(key)) emit(key, value);
  };

  let sum = min;
  let sumSquares = min * min;
  let mean = min;
  let thresholdBoundary = max;
  for (const names of percentiles) {
    const pct = names.pct;
    let numInThreshold = n;
    if (n > 1) {
      numInThreshold = Math.round((Math.abs(pct) / 100) * n);
      if (numInThreshold === 0) continue;
      if (pct > 0) {
        thresholdBoundary = values[numInThreshold - 1]!;
        sum = cumulative[numInThreshold - 1]!;
        sumSquares = cumulativeSquares[numInThreshold - 1]!;
      } else {
        thresholdBoundary = values[n - numInThreshold]!;
        const before = n - numInThreshold - 1;
        sum = cumulative[n - 1]! - (before >= 0 ? cumulative[before]! : 0);
        sumSquares = cumulativeSquares[n - 1]! - (before >= 0 ? cumulativeSquares[before]! : 0);
      }
      mean = sum / numInThreshold;
    }
    send(names.count, numInThreshold);
    send(names.mean, mean);
    send(names.bound, thresholdBoundary);
    send(names.sum, sum);
    send(names.sumSquares, sumSquares);
  }

  sum = cumulative[n - 1]!;
  sumSquares = cumulativeSquares[n - 1]!;
  mean = sum / n;
  let sumOfDiffs = 0;
  for (let i = 0; i < n; i++) sumOfDiffs += (values[i]! - mean) * (values[i]! - mean);
  const mid = Math.floor(n / 2);
  const median = n % 2 ? values[mid]! : (values[mid - 1]! + values[mid]!) / 2;

  send('std', Math.sqrt(sumOfDiffs / n));
  send('upper', max);
  send('lower', min);
  send('count', count);
  send('count_ps', count / stepSeconds);
  send('sum', sum);
  send('sum_squares', sumSquares);
  send('mean', mean);
  send('median', median);

  if (bins.bounds.length === 0 || !wanted('histogram')) return;
  // Values are sorted, so one pass over them serves every bin; values above the last bound are ignored.
  let i = 0;
  for (let b = 0; b < bins.bounds.length; b++) {
    const bin = bins.bounds[b]!;
    let freq = 0;
    for (; i < n && (bin === 'inf' || values[i]! < bin); i++) freq += 1;
    emit(bins.names[b]!, freq);
  }
}

/** A timer that had no values this flush (kept because deleteTimers is off): the reference sends zeros. */
export function emitIdleTimer(wanted: (key: string) => boolean, emit: TimerValueSink): void {
  if (wanted('count')) emit('count', 0);
  if (wanted('count_ps')) emit('count_ps', 0);
}
