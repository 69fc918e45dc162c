/**
 * The JSON answer written as bytes is JSON.stringify of graphite-web's list, byte for byte: numbers of every kind,
 * and the times of series on different axes, written one after another (the time texts are kept per axis).
 */
import { describe, expect, it } from 'vitest';
import { graphiteJson, jsonBody, makeSeries, seriesOfFloat64, toFloat64, type Series } from '@carillon/query';

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
    // the same series read as Float64Arrays (NaN for None), as a render reads them: one JSON.stringify per series
    const unboxed = series.map((s) => {
      const { values, ...fields } = s;
      return seriesOfFloat64(fields, toFloat64(values));
    });
    for (const noNullPoints of [false, true])
      expect(jsonBody(unboxed, { noNullPoints }).body.toString(), `Float64Array, noNullPoints=${noNullPoints}`).toBe(
        expected(series, noNullPoints),
      );
  });

  it('writes infinities as graphite-web does, and NaN as null, in a series read as a Float64Array', () => {
    const values = [1, Infinity, null, -Infinity, 2.5];
    const fields = makeSeries({ name: 'inf', start: 100, end: 150, step: 10, values, xFilesFactor: 0 });
    const { values: _list, ...rest } = fields;
    const body = jsonBody([seriesOfFloat64(rest, toFloat64(values))], { noNullPoints: false }).body.toString();
    expect(body).toBe(
      `[{"target":"inf","tags":${graphiteJson(fields.tags)},"datapoints":[[1,100],[1e9999,110],[null,120],[-1e9999,130],[2.5,140]]}]`,
    );
  });

  it('writes every kind of double as JSON.stringify does, in a series read as a Float64Array', () => {
    // a seeded generator, so a failure reproduces
    let seed = 0x2545f491;
    const random = (): number => {
      seed = (seed * 1_103_515_245 + 12_345) >>> 0;
      return seed / 2 ** 32;
    };
    const bits = new DataView(new ArrayBuffer(8));
    const kinds: (() => number | null)[] = [
      () => null,
      () => Math.round((random() - 0.5) * 1e6), // integers
      () => Math.round((random() - 0.5) * 1e6) / 100, // few decimals
      () => 50 + 40 * Math.sin(random() * 1e4), // full precision, as averages are
      () => (random() - 0.5) * 10 ** Math.floor(random() * 60 - 30), // 1e-30 .. 1e30
      () => {
        // any finite double, from random bits
        bits.setUint32(0, (random() * 2 ** 32) >>> 0);
        bits.setUint32(4, (random() * 2 ** 32) >>> 0);
        const v = bits.getFloat64(0);
        return Number.isFinite(v) ? v : 0;
      },
    ];
    const edges = [0, -0, 1e21, -1e21, 1e-7, 1e-6, 5e-324, -5e-324, 2 ** 53, 2 ** 53 + 2, 1.7976931348623157e308];
    const series: Series[] = [];
    for (let k = 0; k < 60; k++) {
      const values = Array.from({ length: 1 + Math.floor(random() * 400) }, () => kinds[k % kinds.length]!());
      if (k === 0) values.push(...edges);
      const step = [1, 10, 60][k % 3]!;
      series.push(
        makeSeries({
          name: `s${k}`,
          start: 1_767_139_200 + (k % 4) * 10,
          end: 1_767_139_200 + (k % 4) * 10 + values.length * step,
          step,
          values,
          xFilesFactor: 0,
        }),
      );
    }
    const unboxed = series.map((s) => {
      const { values, ...fields } = s;
      return seriesOfFloat64(fields, toFloat64(values));
    });
    for (const noNullPoints of [false, true])
      expect(jsonBody(unboxed, { noNullPoints }).body.toString(), `noNullPoints=${noNullPoints}`).toBe(
        expected(series, noNullPoints),
      );
  });
});
