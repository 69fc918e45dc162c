import { QueryError } from './errors.js';
import type { Series } from './series.js';

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
  const s: Series = { ...series };
  if (maxDataPoints === 1) {
    s.valuesPerPoint = s.values.length;
    return s;
  }
  const numberOfDataPoints = timeRange / s.step;
  if (maxDataPoints >= numberOfDataPoints) return s;
  const valuesPerPoint = Math.ceil(numberOfDataPoints / maxDataPoints);
  const secondsPerPoint = Math.trunc(valuesPerPoint * s.step);
  const nudge = secondsPerPoint + pyMod(s.start, s.step) - pyMod(s.start, secondsPerPoint);
  s.start += nudge;
  const valuesToLose = Math.trunc(nudge / s.step);
  s.values = s.values.slice(Math.max(valuesToLose - 1, 0));
  s.valuesPerPoint = valuesPerPoint;
  return s;
}

/** Python's %, whose result takes the divisor's sign. */
export function pyMod(a: number, b: number): number {
  const r = a % b;
  return r !== 0 && r < 0 !== b < 0 ? r + b : r;
}
