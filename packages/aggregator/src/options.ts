import { ConfigError, DEFAULT_TIMES, parseDuration, parseResolutions, type Resolution } from '@carillon/core';

/** Windows, lateness and the memory bounds of the aggregator. */
export interface AggregatorOptions {
  /** Finest first; the finest step is also the StatsD flush interval. */
  resolutions: Resolution[];
  /** A window is closed (and flushed) once its end plus this many seconds has passed. */
  graceSeconds: number;
  /**
   * Graphite points for windows already flushed are merged into them (amends) back to this many seconds before
   * now; older ones are refused as too_old. At most the finest retention (its default, as carbon does).
   */
  maxLatenessSeconds?: number;
  /** Points stamped more than this many seconds ahead of the clock are counted as future and dropped. */
  maxFutureSeconds: number;
  /** Closed windows waiting for the sink may hold at most this many points; past it the oldest are dropped. */
  maxPendingPoints: number;
  /** Timer values, set members and gauge deltas one StatsD flush interval may hold. */
  maxStatsdIntervalValues: number;
}

export const DEFAULT_AGGREGATOR_OPTIONS = {
  graceSeconds: 5,
  maxFutureSeconds: 60,
  maxPendingPoints: 5_000_000,
  maxStatsdIntervalValues: 10_000_000,
} as const;

const KNOWN_KEYS = new Set([
  'times',
  'grace',
  'max_lateness',
  'max_future',
  'max_pending_points',
  'max_statsd_interval_values',
]);

/**
 * Validates `{ times, grace, max_future, max_pending_points, max_statsd_interval_values }` (durations as
 * `5s`, or whole seconds). `keyPrefix` names the table in errors; unknown keys are errors.
 */
export function parseAggregatorOptions(raw: unknown, keyPrefix = 'aggregator'): AggregatorOptions {
  const keyOf = (name: string): string => (keyPrefix ? `${keyPrefix}.${name}` : name);
  if (raw === undefined || raw === null) raw = {};
  if (typeof raw !== 'object' || Array.isArray(raw))
    throw new ConfigError(keyPrefix || 'aggregator', 'must be a table');
  const table = raw as Record<string, unknown>;
  for (const key of Object.keys(table)) if (!KNOWN_KEYS.has(key)) throw new ConfigError(keyOf(key), 'unknown option');

  const times = table.times ?? DEFAULT_TIMES;
  if (!Array.isArray(times) || !times.every((t) => typeof t === 'string'))
    throw new ConfigError(keyOf('times'), 'must be a list like ["10s:168h", "1m:720h"]');
  const resolutions = parseResolutions(times as string[], keyOf('times'));

  const seconds = (key: string, fallback: number): number => {
    const value = table[key];
    if (value === undefined) return fallback;
    if (typeof value === 'number' && Number.isInteger(value) && value >= 0) return value;
    if (value === '0' || value === '0s') return 0;
    if (typeof value !== 'string') throw new ConfigError(keyOf(key), 'must be a duration like "5s"');
    return parseDuration(value, keyOf(key));
  };
  const count = (key: string, fallback: number): number => {
    const value = table[key];
    if (value === undefined) return fallback;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1)
      throw new ConfigError(keyOf(key), `must be a whole number of at least 1, got ${JSON.stringify(value)}`);
    return value;
  };

  const graceSeconds = seconds('grace', DEFAULT_AGGREGATOR_OPTIONS.graceSeconds);
  checkGrace(graceSeconds, resolutions, keyOf('grace'));
  return {
    resolutions,
    graceSeconds,
    maxLatenessSeconds: maxLatenessOf(
      table.max_lateness === undefined ? undefined : seconds('max_lateness', 0),
      resolutions,
      keyOf('max_lateness'),
    ),
    maxFutureSeconds: seconds('max_future', DEFAULT_AGGREGATOR_OPTIONS.maxFutureSeconds),
    maxPendingPoints: count('max_pending_points', DEFAULT_AGGREGATOR_OPTIONS.maxPendingPoints),
    maxStatsdIntervalValues: count('max_statsd_interval_values', DEFAULT_AGGREGATOR_OPTIONS.maxStatsdIntervalValues),
  };
}

/** A window must be flushed before its finest retention ends, or it is written already expired. */
export function checkGrace(graceSeconds: number, resolutions: readonly Resolution[], key: string): void {
  if (graceSeconds >= resolutions[0]!.ttl) throw new ConfigError(key, 'must be shorter than the finest retention');
}

/**
 * The amend horizon: `configured` (undefined: the finest retention, carbon's limit), never past the finest
 * retention: an older point has no finest window left to amend.
 */
export function maxLatenessOf(configured: number | undefined, resolutions: readonly Resolution[], key: string): number {
  const finest = resolutions[0]!.ttl;
  if (configured === undefined) return finest;
  if (configured > finest) throw new ConfigError(key, `must be at most the finest retention (${finest}s)`);
  return configured;
}
