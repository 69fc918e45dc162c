import {
  aggregationRuleFor,
  mergeStatPoint,
  splitCanonical,
  valueOf,
  type AggregationRule,
  type PendingSource,
  type Resolution,
  type SeriesReader,
  type StatPoint,
} from '@carillon/core';

/** The windows a render reads: `count` windows of `resolution.step` from `start` (aligned); `end` is exclusive. */
export interface FetchWindow {
  resolution: Resolution;
  start: number;
  end: number;
  count: number;
}

/**
 * The windows whisper's fetch (and so graphite-web) returns for [from, until] at `now`: the range is clipped to the
 * longest retention and to now; the finest resolution whose retention reaches back to `from` is read; the windows
 * are those after the one holding `from`, up to and including the one holding `until` (one window when that leaves
 * none). `null` when nothing can be read: the range is in the future or wholly beyond retention. Windows the
 * aggregator has not flushed yet are read too (fetchSeriesValues), so `until = now` shows the current window.
 */
export function fetchWindow(
  resolutions: readonly Resolution[],
  from: number,
  until: number,
  now: number,
): FetchWindow | null {
  const maxRetention = Math.max(...resolutions.map((r) => r.ttl));
  const oldest = now - maxRetention;
  if (from > now || until < oldest) return null;
  const clippedFrom = Math.max(from, oldest);
  const clippedUntil = Math.min(until, now);
  const resolution = resolutions.find((r) => r.ttl >= now - clippedFrom) ?? resolutions[resolutions.length - 1]!;
  const step = resolution.step;
  const start = clippedFrom - mod(clippedFrom, step) + step;
  let end = clippedUntil - mod(clippedUntil, step) + step;
  if (end === start) end += step;
  return { resolution, start, end, count: (end - start) / step };
}

/** Python's %: the result has the divisor's sign, so times before 1970 align as whisper aligns them. */
function mod(a: number, b: number): number {
  return ((a % b) + b) % b;
}

export interface SeriesSources {
  reader: SeriesReader;
  pending: PendingSource;
  aggregationRules: readonly AggregationRule[];
  /**
   * The resolutions a series is stored at when retention rules give it others than `times` (core retentionFor):
   * its window is chosen from those, as whisper's fetch chooses from the file's archives.
   */
  retentionOf?: (name: string) => readonly Resolution[];
}

/** The value of each window (by slot of a FetchWindow) that the pending sources hold and the store may not. */
export type PendingSlots = Map<number, number>;

/**
 * The windows of `name` in `window` the aggregator has not flushed (or the sink not written) yet, each reduced to
 * one value by the series' aggregation method, as the store does; a source may hand several partial points for
 * one window, merged before reducing. `stored(slot)` true skips a window the store has a value for.
 */
export function pendingSlots(
  name: string,
  window: FetchWindow,
  sources: Pick<SeriesSources, 'pending' | 'aggregationRules'>,
  stored: (slot: number) => boolean = () => false,
): PendingSlots | undefined {
  const { resolution, start, end, count } = window;
  const pendingPoints = sources.pending.pending(name, resolution, start, end);
  if (pendingPoints.length === 0) return undefined;
  const bySlot = new Map<number, StatPoint>();
  for (const point of pendingPoints) {
    const slot = Math.floor((point.time - start) / resolution.step);
    if (slot < 0 || slot >= count || stored(slot)) continue;
    const existing = bySlot.get(slot);
    if (existing) mergeStatPoint(existing, point);
    else bySlot.set(slot, { ...point });
  }
  if (bySlot.size === 0) return undefined;
  const method = aggregationRuleFor(splitCanonical(name).path, sources.aggregationRules).method;
  const values: PendingSlots = new Map();
  for (const [slot, point] of bySlot) {
    if (point.count === 0) continue;
    const value = valueOf(point, method);
    if (Number.isFinite(value)) values.set(slot, value);
  }
  return values.size === 0 ? undefined : values;
}

/**
 * Stored values of one series with the windows the aggregator has not flushed yet filling the slots the store has
 * no value for (pendingSlots).
 */
export async function fetchSeriesValues(
  name: string,
  window: FetchWindow,
  sources: SeriesSources,
): Promise<(number | null)[]> {
  const { resolution, start, end, count } = window;
  const stored = await sources.reader.fetch(name, resolution, start, end);
  const values: (number | null)[] = new Array<number | null>(count);
  for (let i = 0; i < count; i++) {
    const v = stored[i];
    values[i] = typeof v === 'number' && Number.isFinite(v) ? v : null;
  }
  const pending = pendingSlots(name, window, sources, (slot) => values[slot] !== null);
  if (pending) for (const [slot, value] of pending) values[slot] = value;
  return values;
}

/**
 * fetchSeriesValues into a Float64Array (NaN where there is no value), the form values travel to a render
 * worker in, without the intermediate list.
 */
export async function fetchSeriesFloat64(
  name: string,
  window: FetchWindow,
  sources: SeriesSources,
): Promise<Float64Array> {
  const values = await storedValues(sources.reader, name, window);
  return withPending(
    values,
    pendingSlots(name, window, sources, (slot) => !Number.isNaN(values[slot]!)),
  );
}

/**
 * The stored values of `name` over `window` as a Float64Array of the window's length, NaN where there is none;
 * through the reader's fetchFloat64 where it has one (no boxed list per read). `into` (the window's length) may be
 * filled and returned instead of a new array.
 */
export async function storedValues(
  reader: SeriesReader,
  name: string,
  window: FetchWindow,
  into?: Float64Array,
): Promise<Float64Array> {
  const { resolution, start, end, count } = window;
  if (!reader.fetchFloat64) return storedFloat64(await reader.fetch(name, resolution, start, end), window);
  const values = await reader.fetchFloat64(name, resolution, start, end, into);
  if (values.length === count) return values;
  const sized = new Float64Array(count).fill(NaN);
  sized.set(values.subarray(0, count));
  return sized;
}

/** Stored values as a Float64Array of the window's length, NaN where there is none. */
export function storedFloat64(stored: readonly (number | null)[], window: FetchWindow): Float64Array {
  const values = new Float64Array(window.count);
  for (let i = 0; i < window.count; i++) {
    const v = stored[i];
    values[i] = typeof v === 'number' && Number.isFinite(v) ? v : NaN;
  }
  return values;
}

/** Fills the slots the store has no value for with the pending windows' values (taken before the store's read). */
export function withPending(values: Float64Array, pending: PendingSlots | undefined): Float64Array {
  if (pending) for (const [slot, value] of pending) if (Number.isNaN(values[slot]!)) values[slot] = value;
  return values;
}
