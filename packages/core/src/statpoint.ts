/**
 * One series' aggregate for one window at one resolution. Mean is sum / count.
 * `time` is the window start in epoch seconds.
 */
export interface StatPoint {
  time: number;
  min: number;
  max: number;
  sum: number;
  first: number;
  last: number;
  count: number;
}

/** A StatPoint holding the single value `value`. */
export function statPointOf(time: number, value: number): StatPoint {
  return { time, min: value, max: value, sum: value, first: value, last: value, count: 1 };
}

/** Adds one sample, arriving after every sample already in `point`. */
export function addSample(point: StatPoint, value: number): void {
  if (value < point.min) point.min = value;
  if (value > point.max) point.max = value;
  point.sum += value;
  point.last = value;
  point.count += 1;
}

/**
 * Merges `later` into `earlier` in place: both cover windows inside `earlier.time`'s window and every sample
 * of `later` arrived after every sample of `earlier`. This is how a coarser resolution is built from finer
 * StatPoints exactly.
 */
export function mergeStatPoint(earlier: StatPoint, later: StatPoint): void {
  if (later.count === 0) return;
  if (earlier.count === 0) {
    earlier.min = later.min;
    earlier.max = later.max;
    earlier.sum = later.sum;
    earlier.first = later.first;
    earlier.last = later.last;
    earlier.count = later.count;
    return;
  }
  if (later.min < earlier.min) earlier.min = later.min;
  if (later.max > earlier.max) earlier.max = later.max;
  earlier.sum += later.sum;
  earlier.last = later.last;
  earlier.count += later.count;
}

export function meanOf(point: StatPoint): number {
  return point.count === 0 ? NaN : point.sum / point.count;
}
