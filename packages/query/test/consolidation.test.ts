import { describe, expect, it } from 'vitest';
import {
  consolidatedValues,
  consolidateForMaxDataPoints,
  datapointsOf,
  makeSeries,
  parseConsolidationFunction,
  type ConsolidationFunction,
  type Series,
} from '@carillon/query';

interface SeriesData {
  start: number;
  end: number;
  step: number;
  values: (number | null)[];
  consolidateBy: ConsolidationFunction;
}

function toSeries(s: SeriesData): Series {
  return { ...makeSeries({ name: 'a.b', ...s, xFilesFactor: 0 }), consolidationFunc: s.consolidateBy };
}

/** Runs of `valuesPerPoint` through the series reader, as graphite-web iterates a consolidated TimeSeries. */
function consolidateValues(values: (number | null)[], valuesPerPoint: number, fn: ConsolidationFunction) {
  const series = toSeries({ start: 0, end: values.length, step: 1, values, consolidateBy: fn });
  return consolidatedValues({ ...series, valuesPerPoint });
}

/** The JSON renderer's datapoints for one series of an answer spanning `timeRange`. */
function graphiteDatapoints(s: SeriesData, timeRange: number, maxDataPoints?: number) {
  const series = toSeries(s);
  return datapointsOf(
    maxDataPoints === undefined ? series : consolidateForMaxDataPoints(series, timeRange, maxDataPoints),
  );
}

describe('consolidateValues', () => {
  const values = [9, 4, 5, 6, null, 8, 3, 10, 1, 12];
  const table: [fn: string, expected: (number | null)[]][] = [
    ['avg', [6, 7, 14 / 3, 12]],
    ['average', [6, 7, 14 / 3, 12]],
    ['sum', [18, 14, 14, 12]],
    ['min', [4, 6, 1, 12]],
    ['max', [9, 8, 10, 12]],
    ['first', [9, 6, 3, 12]],
    ['last', [5, 8, 1, 12]],
  ];
  it.each(table)('%s in runs of 3', (fn, expected) => {
    expect(consolidateValues(values, 3, parseConsolidationFunction(fn))).toEqual(expected);
  });

  it('keeps a run of nulls null', () => {
    expect(consolidateValues([null, null, 1, null], 2, 'sum')).toEqual([null, 1]);
  });

  it('refuses unknown functions', () => {
    expect(() => parseConsolidationFunction('median')).toThrow(/unknown consolidation function "median"/);
  });
});

describe('graphiteDatapoints', () => {
  const series = (start: number, values: (number | null)[]): SeriesData => ({
    start,
    end: start + values.length * 10,
    step: 10,
    values,
    consolidateBy: 'average',
  });

  it('returns one point per window without maxDataPoints or when it is not exceeded', () => {
    const s = series(1000, [1, null, 3]);
    const expected = [
      [1, 1000],
      [null, 1010],
      [3, 1020],
    ];
    expect(graphiteDatapoints(s, 30)).toEqual(expected);
    expect(graphiteDatapoints(s, 30, 3)).toEqual(expected);
  });

  it('nudges the start to a multiple of the consolidated step as graphite-web does', () => {
    // start 1000 % 30 = 10: nudge = 30 + 0 - 10 = 20, start 1020, drops 20/10 - 1 = 1 value
    const s = series(1000, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(graphiteDatapoints(s, 120, 4)).toEqual([
      [3, 1020],
      [6, 1050],
      [9, 1080],
      [11.5, 1110],
    ]);
    // aligned start: nudge is a whole consolidated step, two values dropped
    const aligned = series(990, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(graphiteDatapoints(aligned, 120, 4)).toEqual([
      [4, 1020],
      [7, 1050],
      [10, 1080],
      [12, 1110],
    ]);
  });

  it('reduces everything to one point at the start when maxDataPoints is 1', () => {
    expect(graphiteDatapoints({ ...series(1000, [1, null, 5]), consolidateBy: 'max' }, 30, 1)).toEqual([[5, 1000]]);
  });
});

describe('consolidating long runs', () => {
  it('reduces a run longer than the argument limit of Math.min', () => {
    const values = Array.from({ length: 300_000 }, (_, i) => (i === 123_456 ? -1 : i));
    expect(consolidateValues(values, values.length, 'min')).toEqual([-1]);
    expect(consolidateValues(values, values.length, 'max')).toEqual([299_999]);
  });
});
