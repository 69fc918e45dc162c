import { ConfigError } from '@carillon/core';

/** One histogram rule: timers whose name contains `metric` count their values into `bins` (upper bounds). */
export interface HistogramRule {
  metric: string;
  /** Ascending exclusive upper bounds; `'inf'` catches the rest. Values above the last bound are ignored. */
  bins: (number | 'inf')[];
}

/**
 * StatsD semantics and Graphite output naming, as the reference daemon (statsd 0.9.0, stats.js and
 * backends/graphite.js) names them. Defaults are the reference defaults.
 */
export interface StatsdOptions {
  /** Timer percentiles; negative values mean the top N percent (`*_topN`). Reference: 90. */
  percentThreshold: number[];
  /** Also send the raw count of counters (`stats_counts.<key>` / `<key>.count`). */
  flushCounts: boolean;
  /** Sets the four `delete*` options at once; each may still be set on its own. */
  deleteIdleStats: boolean;
  /** Stop sending an idle counter instead of sending 0. */
  deleteCounters: boolean;
  /** Stop sending an idle timer instead of sending count 0. */
  deleteTimers: boolean;
  /** Stop sending an idle set instead of sending count 0. */
  deleteSets: boolean;
  /** Stop sending a gauge after `gaugesMaxTTL` flushes without an update instead of repeating its value. */
  deleteGauges: boolean;
  gaugesMaxTTL: number;
  /** Timer values to send (`count`, `median`, `upper_percent`, `histogram`, ...); empty sends all. */
  calculatedTimerMetrics: string[];
  histogram: HistogramRule[];
  /** `stats.<key>` + `stats_counts.<key>` for counters, fixed `stats.timers|gauges|sets` prefixes. */
  legacyNamespace: boolean;
  /** The prefixes below apply only when legacyNamespace is false (as in the reference backend). */
  globalPrefix: string;
  prefixCounter: string;
  prefixTimer: string;
  prefixGauge: string;
  prefixSet: string;
  /** Appended as a last path node to every name (before the tags); '' adds nothing. */
  globalSuffix: string;
  /** Compatibility: `h` and `d` samples are counters, as the reference (which counts unknown types) has them. */
  compatHAndDAsCounters: boolean;
  /** Compatibility: output is stamped with the flush time (the interval's end) as the reference does. */
  compatStampAtFlushTime: boolean;
}

export const DEFAULT_STATSD_OPTIONS: Readonly<StatsdOptions> = Object.freeze({
  percentThreshold: [90],
  flushCounts: true,
  deleteIdleStats: false,
  deleteCounters: false,
  deleteTimers: false,
  deleteSets: false,
  deleteGauges: false,
  gaugesMaxTTL: 1,
  calculatedTimerMetrics: [],
  histogram: [],
  legacyNamespace: true,
  globalPrefix: 'stats',
  prefixCounter: 'counters',
  prefixTimer: 'timers',
  prefixGauge: 'gauges',
  prefixSet: 'sets',
  globalSuffix: '',
  compatHAndDAsCounters: false,
  compatStampAtFlushTime: false,
});

const DELETE_KEYS = ['deleteCounters', 'deleteTimers', 'deleteSets', 'deleteGauges'] as const;
const STRING_KEYS = [
  'globalPrefix',
  'prefixCounter',
  'prefixTimer',
  'prefixGauge',
  'prefixSet',
  'globalSuffix',
] as const;
const KNOWN_KEYS = new Set<string>([
  'percentThreshold',
  'flush_counts',
  'flushCounts',
  'deleteIdleStats',
  ...DELETE_KEYS,
  'gaugesMaxTTL',
  'calculatedTimerMetrics',
  'histogram',
  'legacyNamespace',
  ...STRING_KEYS,
  'compatHAndDAsCounters',
  'compatStampAtFlushTime',
]);

/** A name part may not hold `.`-free garbage that would make an invalid Graphite path. */
const NODE_TEXT = /^[^\s;/]*$/;

/**
 * Validates a raw table of reference StatsD option names (flat: the reference's `graphite.*` options sit
 * beside the others). `keyPrefix` (e.g. `statsd`) names the table in errors. Unknown keys are errors.
 */
export function parseStatsdOptions(raw: unknown, keyPrefix = 'statsd'): StatsdOptions {
  const keyOf = (name: string): string => (keyPrefix ? `${keyPrefix}.${name}` : name);
  if (raw === undefined || raw === null) raw = {};
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError(keyPrefix || 'statsd', 'must be a table');
  const table = raw as Record<string, unknown>;
  for (const key of Object.keys(table)) if (!KNOWN_KEYS.has(key)) throw new ConfigError(keyOf(key), 'unknown option');

  const bool = (key: string, fallback: boolean): boolean => {
    const value = table[key];
    if (value === undefined) return fallback;
    if (typeof value !== 'boolean') throw new ConfigError(keyOf(key), `must be true or false, got ${show(value)}`);
    return value;
  };

  const options: StatsdOptions = { ...DEFAULT_STATSD_OPTIONS, percentThreshold: [90], calculatedTimerMetrics: [] };
  options.percentThreshold = parsePercentThreshold(table.percentThreshold, keyOf('percentThreshold'));
  if (table.flush_counts !== undefined && table.flushCounts !== undefined)
    throw new ConfigError(keyOf('flushCounts'), 'set either flush_counts or flushCounts, not both');
  options.flushCounts = bool('flush_counts', bool('flushCounts', true));
  options.deleteIdleStats = bool('deleteIdleStats', false);
  for (const key of DELETE_KEYS) options[key] = bool(key, options.deleteIdleStats);

  const ttl = table.gaugesMaxTTL;
  // The reference quietly uses 1 for anything but a whole number above 1; we refuse what is not a whole number.
  if (ttl !== undefined) {
    if (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < 1)
      throw new ConfigError(keyOf('gaugesMaxTTL'), `must be a whole number of flushes, at least 1, got ${show(ttl)}`);
    options.gaugesMaxTTL = ttl;
  }

  const metrics = table.calculatedTimerMetrics;
  if (metrics !== undefined) {
    if (!Array.isArray(metrics) || !metrics.every((m) => typeof m === 'string'))
      throw new ConfigError(keyOf('calculatedTimerMetrics'), `must be a list of strings, got ${show(metrics)}`);
    options.calculatedTimerMetrics = [...(metrics as string[])];
  }

  options.histogram = parseHistogram(table.histogram, keyOf('histogram'));
  options.legacyNamespace = bool('legacyNamespace', true);
  options.compatHAndDAsCounters = bool('compatHAndDAsCounters', false);
  options.compatStampAtFlushTime = bool('compatStampAtFlushTime', false);

  for (const key of STRING_KEYS) {
    const value = table[key];
    if (value === undefined) continue;
    if (typeof value !== 'string') throw new ConfigError(keyOf(key), `must be a string, got ${show(value)}`);
    if (!NODE_TEXT.test(value) || value.startsWith('.') || value.endsWith('.') || value.includes('..'))
      throw new ConfigError(keyOf(key), `"${value}" is not usable in a Graphite path`);
    options[key] = value;
  }
  return options;
}

function parsePercentThreshold(value: unknown, key: string): number[] {
  if (value === undefined) return [90];
  const list = Array.isArray(value) ? value : [value];
  return list.map((pct: unknown, i) => {
    const itemKey = Array.isArray(value) ? `${key}[${i}]` : key;
    if (typeof pct !== 'number' || !Number.isFinite(pct) || pct === 0 || pct < -100 || pct > 100)
      throw new ConfigError(itemKey, `must be a percentage from -100 to 100 other than 0, got ${show(pct)}`);
    return pct;
  });
}

function parseHistogram(value: unknown, key: string): HistogramRule[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new ConfigError(key, 'must be a list of { metric, bins }');
  return value.map((rule: unknown, i): HistogramRule => {
    const itemKey = `${key}[${i}]`;
    if (typeof rule !== 'object' || rule === null || Array.isArray(rule))
      throw new ConfigError(itemKey, 'must be a table { metric, bins }');
    const { metric, bins, ...rest } = rule as Record<string, unknown>;
    for (const extra of Object.keys(rest)) throw new ConfigError(`${itemKey}.${extra}`, 'unknown option');
    if (typeof metric !== 'string') throw new ConfigError(`${itemKey}.metric`, 'must be a string');
    if (!Array.isArray(bins)) throw new ConfigError(`${itemKey}.bins`, 'must be a list of numbers, may end in "inf"');
    let previous = -Infinity;
    const parsed = bins.map((bin: unknown, j): number | 'inf' => {
      const binKey = `${itemKey}.bins[${j}]`;
      if (bin === 'inf') {
        if (j !== bins.length - 1) throw new ConfigError(binKey, '"inf" must be the last bin');
        return 'inf';
      }
      if (typeof bin !== 'number' || !Number.isFinite(bin)) throw new ConfigError(binKey, `must be a number or "inf"`);
      if (bin <= previous) throw new ConfigError(binKey, 'bins must be in ascending order');
      previous = bin;
      return bin;
    });
    return { metric, bins: parsed };
  });
}

function show(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}
