/**
 * Series kept as the Float64Array they were read as (NaN for None) answer what their boxed values answer: the
 * consolidation runs and the JSON answer; reading `values` boxes them once.
 */
import { describe, expect, it } from 'vitest';
import {
  CONSOLIDATION_FUNCTIONS,
  consolidatedFloat64,
  consolidatedValues,
  float64Of,
  jsonBody,
  makeSeries,
  seriesOfFloat64,
  shallowCopy,
  toFloat64,
  withFields,
  type Series,
} from '@carillon/query';

const VALUES: (number | null)[] = [9, 4, null, 6, null, null, 3, 10.25, 1, -12, null, 0.1, 7];

function pair(values: (number | null)[], changes: Partial<Series> = {}): { boxed: Series; unboxed: Series } {
  const boxed = {
    ...makeSeries({ name: 'a.b', start: 100, end: 100 + values.length * 10, step: 10, values, xFilesFactor: 0 }),
    ...changes,
  };
  const { values: _none, ...fields } = boxed;
  return { boxed, unboxed: seriesOfFloat64(fields, toFloat64(values)) };
}

describe('unboxed series', () => {
  it('consolidate as the boxed values do, for every function, run length and xFilesFactor', () => {
    for (const fn of CONSOLIDATION_FUNCTIONS)
      for (const valuesPerPoint of [1, 2, 3, 5, 13, 20])
        for (const xFilesFactor of [0, 0.5, 1]) {
          const { boxed, unboxed } = pair(VALUES, { consolidationFunc: fn, valuesPerPoint, xFilesFactor });
          const expected = toFloat64(consolidatedValues(boxed));
          expect(consolidatedFloat64(unboxed), `${fn} ${valuesPerPoint} ${xFilesFactor}`).toEqual(expected);
          expect(float64Of(unboxed)).toBeDefined();
        }
  });

  it('box on first read of values, once, and stay boxed in copies made after', () => {
    const { unboxed } = pair(VALUES);
    const copy = shallowCopy(unboxed);
    expect(float64Of(copy)).toBe(float64Of(unboxed));
    expect(unboxed.values).toEqual(VALUES);
    expect(unboxed.values).toBe(unboxed.values);
    expect(float64Of(unboxed)).toBeUndefined();
    expect(float64Of(copy)).toBeDefined();
    copy.values = [1];
    expect(float64Of(copy)).toBeUndefined();
    expect({ ...copy }.values).toEqual([1]);
  });

  it('stay unboxed when renamed or restyled (withFields, what the alias functions use)', () => {
    const { unboxed } = pair(VALUES);
    const renamed = withFields(unboxed, { name: 'b', tags: { name: 'b' } });
    expect(float64Of(renamed)).toBe(float64Of(unboxed));
    expect(renamed.name).toBe('b');
    expect(unboxed.name).toBe('a.b');
    expect(renamed.values).toEqual(VALUES);
    expect(float64Of(unboxed)).toBeDefined();
  });

  it('answer the same JSON as boxed series', () => {
    for (const maxDataPoints of [undefined, 1, 4]) {
      for (const noNullPoints of [false, true]) {
        const a = pair(VALUES);
        const b = pair(VALUES.slice(3), { name: 'x' });
        const expected = jsonBody([a.boxed, b.boxed], { maxDataPoints, noNullPoints });
        const answer = jsonBody([a.unboxed, b.unboxed], { maxDataPoints, noNullPoints });
        expect(float64Of(a.unboxed)).toBeDefined();
        expect(answer.body.toString()).toBe(expected.body.toString());
        expect(answer.body.toString()).toContain('"datapoints":[[');
      }
    }
  });
});
