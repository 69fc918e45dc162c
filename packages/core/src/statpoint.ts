/**
 * One series' aggregate for one window at one resolution. Mean is sum / count.
 * `time` is the window start in epoch seconds.
 *
 * `first` is the value with the earliest timestamp in the window and `last` the one with the latest; among points
 * with the same timestamp the earliest arrival is first and the latest arrival is last. `firstTime`/`lastTime`
 * hold those timestamps so that a point arriving after the window was written (an amend) merges exactly; absent,
 * both are taken as the window start (what a store that does not keep them, or an older row, reads back as).
 */
export interface StatPoint {
  time: number;
  min: number;
  max: number;
  sum: number;
  first: number;
  last: number;
  count: number;
  firstTime?: number;
  lastTime?: number;
}

/** A StatPoint holding the single value `value`, stamped `timestamp` (absent: the window start, no times kept). */
export function statPointOf(time: number, value: number, timestamp?: number): StatPoint {
  const point: StatPoint = { time, min: value, max: value, sum: value, first: value, last: value, count: 1 };
  if (timestamp !== undefined) {
    point.firstTime = timestamp;
    point.lastTime = timestamp;
  }
  return point;
}

/**
 * Adds one sample, arriving after every sample already in `point`, stamped `timestamp` (absent: the window start,
 * so it is last and not first, as arrival order has it).
 */
export function addSample(point: StatPoint, value: number, timestamp?: number): void {
  if (point.count === 0) {
    Object.assign(point, statPointOf(point.time, value, timestamp));
    return;
  }
  if (value < point.min) point.min = value;
  if (value > point.max) point.max = value;
  point.sum += value;
  const at = timestamp ?? point.time;
  if (at < (point.firstTime ?? point.time)) {
    point.first = value;
    point.firstTime = at;
  }
  if (at >= (point.lastTime ?? point.time)) {
    point.last = value;
    if (timestamp !== undefined || point.lastTime !== undefined) point.lastTime = at;
  }
  point.count += 1;
}

/**
 * Merges `later` into `earlier` in place: both cover windows inside `earlier.time`'s window and every sample of
 * `later` arrived after every sample of `earlier`. First and last go by timestamp (ties: `earlier` keeps first,
 * `later` takes last), so the merge is exact whatever the order of the windows: it builds coarser resolutions
 * from finer StatPoints and amends a stored StatPoint with points that arrived after it was written.
 */
export function mergeStatPoint(earlier: StatPoint, later: StatPoint): void {
  if (later.count === 0) return;
  const keepTimes = later.firstTime !== undefined || (earlier.count > 0 && earlier.firstTime !== undefined);
  const laterFirst = later.firstTime ?? later.time;
  const laterLast = later.lastTime ?? later.time;
  if (earlier.count === 0) {
    earlier.min = later.min;
    earlier.max = later.max;
    earlier.sum = later.sum;
    earlier.first = later.first;
    earlier.last = later.last;
    earlier.count = later.count;
    if (keepTimes) {
      earlier.firstTime = laterFirst;
      earlier.lastTime = laterLast;
    }
    return;
  }
  if (later.min < earlier.min) earlier.min = later.min;
  if (later.max > earlier.max) earlier.max = later.max;
  earlier.sum += later.sum;
  let firstTime = earlier.firstTime ?? earlier.time;
  let lastTime = earlier.lastTime ?? earlier.time;
  if (laterFirst < firstTime) {
    earlier.first = later.first;
    firstTime = laterFirst;
  }
  if (laterLast >= lastTime) {
    earlier.last = later.last;
    lastTime = laterLast;
  }
  if (keepTimes) {
    earlier.firstTime = firstTime;
    earlier.lastTime = lastTime;
  }
  earlier.count += later.count;
}

export function meanOf(point: StatPoint): number {
  return point.count === 0 ? NaN : point.sum / point.count;
}
