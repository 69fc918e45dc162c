import { statPointOf, type StatPoint } from '@carillon/core';

/** The StatPoint of `values` received in this order in the window starting at `time`. */
export function pointOfSamples(time: number, values: readonly number[]): StatPoint {
  const p = statPointOf(time, values[0]!);
  for (const v of values.slice(1)) {
    p.min = Math.min(p.min, v);
    p.max = Math.max(p.max, v);
    p.sum += v;
    p.last = v;
    p.count++;
  }
  return p;
}
