/**
 * graphite-web's functions/safe.py and aggfuncs.py: reductions over a row of values that skip nulls, and answer
 * null where Python's answer None. Sums add left to right, as Python's sum() does, so results match to the bit.
 */
import { QueryError } from '../errors.js';

export type Value = number | null;
export type AggFunc = (values: readonly Value[]) => Value;

function known(values: readonly Value[]): number[] {
  const result: number[] = [];
  for (const v of values) if (v !== null && v !== undefined) result.push(v);
  return result;
}

function sum(values: readonly number[]): number {
  let total = 0;
  for (const v of values) total += v;
  return total;
}

export function safeSum(values: readonly Value[]): Value {
  // left to right over the known values, as sum() over the filtered list: the same bits, no list
  let total = 0;
  let any = false;
  for (const v of values)
    if (v !== null && v !== undefined) {
      total += v;
      any = true;
    }
  return any ? total : null;
}

export function safeDiff(values: readonly Value[]): Value {
  const k = known(values);
  if (k.length === 0) return null;
  let total = 0;
  k.forEach((v, i) => (total += i === 0 ? v : v * -1));
  return total;
}

export function safeLen(values: readonly Value[]): number {
  return known(values).length;
}

export function safeDiv(a: Value, b: Value): Value {
  if (a === null) return null;
  if (b === null || b === 0) return null;
  return a / b;
}

export function safeMul(...factors: Value[]): Value {
  if (factors.some((f) => f === null || f === undefined)) return null;
  let product = factors[0]!;
  for (let i = 1; i < factors.length; i++) product *= factors[i]!;
  return product;
}

export function safeSubtract(a: Value, b: Value): Value {
  return a === null || b === null ? null : a - b;
}

export function safeAvg(values: readonly Value[]): Value {
  const k = known(values);
  return k.length > 0 ? sum(k) / k.length : null;
}

export function safeAvgZero(values: readonly Value[]): Value {
  if (values.length === 0) return null;
  return sum(values.map((v) => v ?? 0)) / values.length;
}

export function safeMedian(values: readonly Value[]): Value {
  const k = known(values).sort((a, b) => a - b);
  if (k.length === 0) return null;
  const mid = Math.floor(k.length / 2);
  return k.length % 2 === 0 ? (k[mid - 1]! + k[mid]!) / 2 : k[mid]!;
}

export function safeStdDev(values: readonly Value[]): Value {
  const k = known(values);
  if (k.length === 0) return null;
  const avg = sum(k) / k.length;
  let total = 0;
  for (const v of k) total = total + (v - avg) * (v - avg);
  return Math.sqrt(total / k.length);
}

export function safeLast(values: readonly Value[]): Value {
  for (let i = values.length - 1; i >= 0; i--) if (values[i] !== null && values[i] !== undefined) return values[i]!;
  return null;
}

/** Python's min()/max(): the first of equal values wins, and a loop, not a spread, for long rows. */
export function safeMin(values: readonly Value[]): Value {
  let result: Value = null;
  for (const v of values) if (v !== null && v !== undefined && (result === null || v < result)) result = v;
  return result;
}

export function safeMax(values: readonly Value[]): Value {
  let result: Value = null;
  for (const v of values) if (v !== null && v !== undefined && (result === null || v > result)) result = v;
  return result;
}

export function safeAbs(value: Value): Value {
  return value === null ? null : Math.abs(value);
}

const AGG_FUNCS: Record<string, AggFunc> = {
  average: safeAvg,
  avg_zero: safeAvgZero,
  median: safeMedian,
  sum: safeSum,
  min: safeMin,
  max: safeMax,
  diff: safeDiff,
  stddev: safeStdDev,
  count: safeLen,
  range: (row) => safeSubtract(safeMax(row), safeMin(row)),
  multiply: (row) => safeMul(...row),
  last: safeLast,
};

const AGG_ALIASES: Record<string, string> = { rangeOf: 'range', avg: 'average', total: 'sum', current: 'last' };

/** The aggregation names graphite-web accepts (its ParamTypeAggFunc options), in its order. */
export const AGG_FUNC_NAMES: readonly string[] = [...Object.keys(AGG_FUNCS), ...Object.keys(AGG_ALIASES)].sort();

/** Aggregating series functions a groupBy callback may name (graphite-web's `aggregator` functions we have). */
export const AGGREGATOR_FUNCTIONS: readonly string[] = [
  'averageSeries',
  'countSeries',
  'diffSeries',
  'maxSeries',
  'minSeries',
  'multiplySeries',
  'rangeOfSeries',
  'stddevSeries',
  'sumSeries',
];

/** aggOrSeriesFunc options: aggregation names and aggregating functions, sorted as graphite-web lists them. */
export const AGG_OR_SERIES_FUNC_NAMES: readonly string[] = [...AGG_FUNC_NAMES, ...AGGREGATOR_FUNCTIONS].sort();

export function getAggFunc(name: string): AggFunc {
  const fn = AGG_FUNCS[name] ?? AGG_FUNCS[AGG_ALIASES[name] ?? ''];
  if (!fn) throw new QueryError(`unsupported aggregation function: ${name}`);
  return fn;
}
