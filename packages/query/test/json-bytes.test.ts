/**
 * The JSON answer written as bytes is JSON.stringify of graphite-web's list, byte for byte: numbers of every kind,
 * and the times of series on different axes, written one after another (the time texts are kept per axis).
 */
import { describe, expect, it } from 'vitest';
import { jsonBody, makeSeries, type Series } from '@carillon/query';

/** graphite-web's json view of `series` (no consolidation): datapoints as [value, time], None as null. */
function expected(series: readonly Series[], noNullPoints: boolean): string {
  const list = series.map((s) => {
    const datapoints = s.values
      .map((v, i) => [v, s.start + i * s.step] as const)
      .filter(([v]) => !noNullPoints || v !== null);
    return { target: s.name, tags: s.tags, datapoints };
  });
  return JSON.stringify(list.filter((s) => !noNullPoints || s.datapoints.length > 0));
}

describe('jsonBody', () => {
  it('writes what JSON.stringify writes, for series on alternating time axes, with and without null points', () => {
    const values = [0, -0, 1.5, null, -12.25, 1e21, 123456789012, 5e-324, 0.1 + 0.2, null, 7];
    const axes = [
      [1_767_225_600, 10],
      [1_767_225_600, 60],
      [1_767_225_590, 10],
      [0, 1],
    ] as const;
    const series: Series[] = [];
    for (let round = 0; round < 3; round++)
      for (const [k, [start, step]] of axes.entries()) {
        // each series a different length and its own values, so a kept time text shows if it is misplaced
        const own = values.slice(0, values.length - round - k).map((v) => (v === null ? null : v * (round + 1)));
        series.push(
          makeSeries({
            name: `s${round}.${k}`,
            start,
            end: start + own.length * step,
            step,
            values: own,
            xFilesFactor: 0,
          }),
        );
      }
    series.push(
      makeSeries({ name: 'empty', start: 0, end: 30, step: 10, values: [null, null, null], xFilesFactor: 0 }),
    );
    for (const noNullPoints of [false, true])
      expect(jsonBody(series, { noNullPoints }).body.toString(), `noNullPoints=${noNullPoints}`).toBe(
        expected(series, noNullPoints),
      );
  });
});
