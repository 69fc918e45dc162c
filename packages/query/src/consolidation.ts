import { QueryError } from './errors.js';

/** How consecutive values are reduced to one when a response needs fewer points (`consolidateBy`). */
export type ConsolidationFunction = 'average' | 'sum' | 'min' | 'max' | 'first' | 'last';

export const CONSOLIDATION_FUNCTIONS: readonly ConsolidationFunction[] = [
  'average',
  'sum',
  'min',
  'max',
  'first',
  'last',
];

export function parseConsolidationFunction(text: string): ConsolidationFunction {
  const name = text === 'avg' ? 'average' : text;
  if (!CONSOLIDATION_FUNCTIONS.includes(name as ConsolidationFunction))
    throw new QueryError(`unknown consolidation function "${text}": use avg, average, sum, min, max, first or last`);
  return name as ConsolidationFunction;
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
  return fn === 'average' ? result / values.length : result;
}

/** Reduces each run of `valuesPerPoint` values (the last run may be short) to one; a run of nulls stays null. */
export function consolidateValues(
  values: readonly (number | null)[],
  valuesPerPoint: number,
  fn: ConsolidationFunction,
): (number | null)[] {
  const result: (number | null)[] = [];
  for (let i = 0; i < values.length; i += valuesPerPoint) {
    const known: number[] = [];
    for (let j = i; j < i + valuesPerPoint && j < values.length; j++) {
      const v = values[j];
      if (v !== null && v !== undefined) known.push(v);
    }
    result.push(known.length === 0 ? null : reduce(known, fn));
  }
  return result;
}

/** One series ready to answer: `values[i]` is the window starting at `start + i * step`; `end` is exclusive. */
export interface SeriesData {
  start: number;
  end: number;
  step: number;
  values: (number | null)[];
  consolidateBy: ConsolidationFunction;
}

export type Datapoint = [number | null, number];

/**
 * Datapoints of one series as graphite-web's JSON renderer makes them. With `maxDataPoints`, when the response's time
 * range (`timeRange`, over all series) holds more steps than that, values are consolidated `valuesPerPoint =
 * ceil(steps / maxDataPoints)` at a time after graphite-web's "nudge": the start moves to the next multiple of the
 * consolidated step and `nudge/step - 1` leading values are dropped (graphite-web drops one fewer than it moves,
 * and clients compare against that). `maxDataPoints = 1` reduces the whole series to one point.
 */
export function graphiteDatapoints(series: SeriesData, timeRange: number, maxDataPoints?: number): Datapoint[] {
  let { start } = series;
  const { step, end } = series;
  let values = series.values;
  let valuesPerPoint = 1;
  if (maxDataPoints === 1) {
    valuesPerPoint = Math.max(values.length, 1);
    values = consolidateValues(values, valuesPerPoint, series.consolidateBy);
  } else if (maxDataPoints !== undefined && maxDataPoints < timeRange / step) {
    valuesPerPoint = Math.ceil(timeRange / step / maxDataPoints);
    const secondsPerPoint = valuesPerPoint * step;
    const nudge = secondsPerPoint + (start % step) - (start % secondsPerPoint);
    start += nudge;
    const valuesToLose = Math.trunc(nudge / step);
    values = consolidateValues(values.slice(Math.max(valuesToLose - 1, 0)), valuesPerPoint, series.consolidateBy);
  }
  const secondsPerPoint = step * valuesPerPoint;
  const points: Datapoint[] = [];
  // zip(values, range(start, end + 1, secondsPerPoint)): the shorter one decides the length.
  for (let i = 0, t = start; i < values.length && t <= end; i++, t += secondsPerPoint) points.push([values[i]!, t]);
  return points;
}
