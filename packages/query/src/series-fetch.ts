import {
  aggregationRuleFor,
  mergeStatPoint,
  resolutionCovering,
  splitCanonical,
  valueOf,
  windowStart,
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
 * The finest resolution whose retention covers `from`, and the windows of that resolution overlapping
 * [from, until): the one holding `from` through the one holding `until - 1` (so `until = now` includes the window
 * still being aggregated).
 */
export function fetchWindow(resolutions: readonly Resolution[], from: number, until: number, now: number): FetchWindow {
  const resolution = resolutionCovering(resolutions, from, now);
  const step = resolution.step;
  const start = windowStart(from, step);
  const end = windowStart(until - 1, step) + step;
  return { resolution, start, end, count: (end - start) / step };
}

export interface SeriesSources {
  reader: SeriesReader;
  pending: PendingSource;
  aggregationRules: readonly AggregationRule[];
}

/**
 * Stored values of one series with the windows the aggregator has not flushed yet filling the slots the store has
 * no value for; a pending window is reduced to one value by the series' aggregation method, as the store does.
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
  const pendingPoints = sources.pending.pending(name, resolution, start, end);
  if (pendingPoints.length === 0) return values;

  // A source may hand several partial points for one window; merge them before reducing.
  const bySlot = new Map<number, StatPoint>();
  for (const point of pendingPoints) {
    const slot = Math.floor((point.time - start) / resolution.step);
    if (slot < 0 || slot >= count || values[slot] !== null) continue;
    const existing = bySlot.get(slot);
    if (existing) mergeStatPoint(existing, point);
    else bySlot.set(slot, { ...point });
  }
  if (bySlot.size === 0) return values;
  const method = aggregationRuleFor(splitCanonical(name).path, sources.aggregationRules).method;
  for (const [slot, point] of bySlot) {
    if (point.count === 0) continue;
    const value = valueOf(point, method);
    if (Number.isFinite(value)) values[slot] = value;
  }
  return values;
}
