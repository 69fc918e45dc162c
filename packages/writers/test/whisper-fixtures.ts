/** Resolutions and points the whisper store tests share (with and without Graphite's whisper tools). */
import { parseResolutions, type StatPoint } from '@carillon/core';

export const resolutions = parseResolutions(['10s:1h', '1m:1d', '10m:30d']);
export const [fine, mid, coarse] = resolutions as [
  (typeof resolutions)[0],
  (typeof resolutions)[0],
  (typeof resolutions)[0],
];

/** A StatPoint whose every aggregate differs, so the stored value shows which method was applied. */
export function stat4(time: number, k: number): StatPoint {
  return { time, min: k - 3, max: k + 9, sum: 4 * k + 2, first: k - 1, last: k + 0.5, count: 4 };
}
export const expectedBy = {
  average: (k: number) => (4 * k + 2) / 4,
  sum: (k: number) => 4 * k + 2,
  max: (k: number) => k + 9,
  min: (k: number) => k - 3,
  last: (k: number) => k + 0.5,
};
