import { QueryError } from './errors.js';
import { dropValues, float64Of, shallowCopy, toFloat64, valuesLength, type Series } from './series.js';

/** How consecutive values are reduced to one when a series is read consolidated (`consolidateBy`). */
export type ConsolidationFunction = 'average' | 'avg' | 'avg_zero' | 'sum' | 'min' | 'max' | 'first' | 'last';

export const CONSOLIDATION_FUNCTIONS: readonly ConsolidationFunction[] = [
  'sum',
  'average',
  'avg',
  'avg_zero',
  'min',
  'max',
  'first',
  'last',
];

export function parseConsolidationFunction(text: string): ConsolidationFunction {
  if (!CONSOLIDATION_FUNCTIONS.includes(text as ConsolidationFunction))
    throw new QueryError(`unknown consolidation function "${text}": use ${CONSOLIDATION_FUNCTIONS.join(', ')}`);
  return text as ConsolidationFunction;
}

/** Loops, not spreads: a run can be a whole series (maxDataPoints=1), too long for Math.min(...values). */
function reduce(values: number[], fn: ConsolidationFunction): number {
  if (fn === 'first') return values[0]!;
  if (fn === 'last') return values[values.length - 1]!;
  let result = values[0]!;
  for (let i = 1; i < values.length; i++) {
    const v = values[i]!;
    if (fn === 'min') result = v < result ? v : result;
    else if (fn === 'max') result = v > result ? v : result;
    else result += v;
  }
  return fn === 'average' || fn === 'avg' || fn === 'avg_zero' ? result / values.length : result;
}

/**
 * A series' values as graphite-web iterates a TimeSeries: with `valuesPerPoint` > 1, each run of that many values
 * (the last may be short) becomes one, or null when fewer than `xFilesFactor` of the run are known (a run of
 * nulls is always null); `avg_zero` counts nulls as zeros.
 */
export function consolidatedValues(series: Series): (number | null)[] {
  const { values, consolidationFunc: fn, xFilesFactor } = series;
  const perPoint = series.valuesPerPoint;
  if (perPoint <= 1) return values;
  const result: (number | null)[] = [];
  for (let i = 0; i < values.length; i += perPoint) {
    const known: number[] = [];
    let nonNull = 0;
    for (let j = i; j < i + perPoint && j < values.length; j++) {
      const v = values[j];
      if (v !== null && v !== undefined) {
        known.push(v);
        nonNull++;
      } else if (fn === 'avg_zero') known.push(0);
    }
    result.push(nonNull > 0 && nonNull / perPoint >= xFilesFactor ? reduce(known, fn) : null);
  }
  return result;
}

/**
 * consolidatedValues as a Float64Array (NaN for None), for a series still unboxed (float64Of): the same runs, the
 * same reductions in the same order, without a boxed number per value. Other series are boxed, then converted.
 */
export function consolidatedFloat64(series: Series): Float64Array {
  const raw = float64Of(series);
  if (!raw) return toFloat64(consolidatedValues(series));
  const perPoint = series.valuesPerPoint;
  if (perPoint <= 1) return raw;
  const { consolidationFunc: fn, xFilesFactor } = series;
  const out = new Float64Array(Math.ceil(raw.length / perPoint));
  if (fn === 'sum' || fn === 'average' || fn === 'avg') {
    // the common case in a loop of its own: the known values added in order
    for (let i = 0, p = 0; i < raw.length; i += perPoint, p++) {
      const stop = Math.min(i + perPoint, raw.length);
      let known = 0;
      let total = NaN;
      for (let j = i; j < stop; j++) {
        const v = raw[j]!;
        if (Number.isNaN(v)) continue;
        total = known === 0 ? v : total + v;
        known++;
      }
      out[p] = known > 0 && known / perPoint >= xFilesFactor ? (fn === 'sum' ? total : total / known) : NaN;
    }
    return out;
  }
  for (let i = 0, p = 0; i < raw.length; i += perPoint, p++) {
    const stop = Math.min(i + perPoint, raw.length);
    let nonNull = 0;
    let taken = 0;
    let result = NaN;
    for (let j = i; j < stop; j++) {
      let v = raw[j]!;
      if (Number.isNaN(v)) {
        if (fn !== 'avg_zero') continue;
        v = 0;
      } else nonNull++;
      if (taken === 0) result = v;
      else if (fn === 'min') result = v < result ? v : result;
      else if (fn === 'max') result = v > result ? v : result;
      else if (fn === 'last') result = v;
      else if (fn !== 'first') result += v;
      taken++;
    }
    out[p] = nonNull > 0 && nonNull / perPoint >= xFilesFactor ? (fn === 'avg_zero' ? result / taken : result) : NaN;
  }
  return out;
}

export type Datapoint = [number | null, number];

/** TimeSeries.datapoints(): values zipped with range(start, end + 1, step * valuesPerPoint). */
export function datapointsOf(series: Series): Datapoint[] {
  const values = consolidatedValues(series);
  const stride = series.step * Math.max(series.valuesPerPoint, 1);
  const points: Datapoint[] = [];
  for (let i = 0, t = series.start; i < values.length && t < series.end + 1; i++, t += stride)
    points.push([values[i]!, t]);
  return points;
}

/**
 * graphite-web's JSON renderer with `maxDataPoints`: over `timeRange` (all series of the answer), a series with
 * more steps than that is read `valuesPerPoint = ceil(steps / maxDataPoints)` at a time after its start is
 * "nudged" to the next multiple of the consolidated step (dropping one value fewer than it moves, as graphite-web
 * does); `maxDataPoints = 1` reduces the whole series to one point. Returns a new series.
 */
export function consolidateForMaxDataPoints(series: Series, timeRange: number, maxDataPoints: number): Series {
  if (maxDataPoints === 1) {
    const s = shallowCopy(series);
    s.valuesPerPoint = valuesLength(s);
    return s;
  }
  const numberOfDataPoints = timeRange / series.step;
  if (maxDataPoints >= numberOfDataPoints) return shallowCopy(series);
  const valuesPerPoint = Math.ceil(numberOfDataPoints / maxDataPoints);
  const secondsPerPoint = Math.trunc(valuesPerPoint * series.step);
  const nudge = secondsPerPoint + pyMod(series.start, series.step) - pyMod(series.start, secondsPerPoint);
  const valuesToLose = Math.trunc(nudge / series.step);
  const s = dropValues(series, Math.max(valuesToLose - 1, 0));
  s.start += nudge;
  s.valuesPerPoint = valuesPerPoint;
  return s;
}

/** Python's %, whose result takes the divisor's sign. */
export function pyMod(a: number, b: number): number {
  const r = a % b;
  return r !== 0 && r < 0 !== b < 0 ? r + b : r;
}
