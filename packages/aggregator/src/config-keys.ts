/**
 * The aggregator's keys: `[aggregator]` (lateness and memory bounds), `[statsd.output]` (the reference StatsD
 * daemon's output options, validated by parseStatsdOptions) and `[[aggregation]]` (how a stored value is derived
 * from a window, validated by core's parseAggregationRules).
 */
import {
  configKey,
  DEFAULT_AGGREGATION_RULES,
  parseAggregationRules,
  parseResolutions,
  readSection,
  TIMES_KEY,
  type AggregationRule,
  type ConfigSource,
} from '@carillon/core';
import { checkGrace, DEFAULT_AGGREGATOR_OPTIONS, maxLatenessOf, type AggregatorOptions } from './options.js';
import { DEFAULT_STATSD_OPTIONS, parseStatsdOptions, type StatsdOptions } from './statsd-options.js';

const d = DEFAULT_AGGREGATOR_OPTIONS;

export const AGGREGATOR_KEYS = {
  graceSeconds: configKey.duration({
    key: 'aggregator.grace',
    default: `${d.graceSeconds}s`,
    readAs: 'seconds',
    description: 'a window is flushed once its end plus this has passed; later points are counted as late',
  }),
  maxFutureSeconds: configKey.duration({
    key: 'aggregator.max_future',
    default: `${d.maxFutureSeconds}s`,
    readAs: 'seconds',
    description: 'points stamped further ahead of the clock are counted as future and dropped',
  }),
  maxPendingPoints: configKey.integer({
    key: 'aggregator.max_pending_points',
    default: d.maxPendingPoints,
    min: 1,
    unit: 'points',
    description: 'closed windows waiting for overloaded writers; past it the oldest are dropped (counted)',
  }),
  maxStatsdIntervalValues: configKey.integer({
    key: 'aggregator.max_statsd_interval_values',
    default: d.maxStatsdIntervalValues,
    min: 1,
    unit: 'values',
    description: 'timer values, set members and gauge deltas one StatsD interval may hold',
  }),
} as const;

/** Read apart from AGGREGATOR_KEYS: its default is the finest retention, known only once `times` is read. */
export const MAX_LATENESS_KEY = configKey.duration({
  key: 'aggregator.max_lateness',
  default: '0s',
  computedDefault: 'the finest retention (times[0])',
  readAs: 'seconds',
  description:
    'Graphite points for windows already flushed are merged into the stored windows back to this age; older ones are refused as too_old (at most the finest retention)',
});

/** The reference options the example file shows, with their defaults (the rest are documented in docs/STATSD.md). */
const STATSD_OUTPUT_EXAMPLE: ReadonlyArray<readonly [string, unknown]> = [
  ['legacyNamespace', DEFAULT_STATSD_OPTIONS.legacyNamespace],
  ['globalPrefix', DEFAULT_STATSD_OPTIONS.globalPrefix],
  ['prefixCounter', DEFAULT_STATSD_OPTIONS.prefixCounter],
  ['prefixTimer', DEFAULT_STATSD_OPTIONS.prefixTimer],
  ['prefixGauge', DEFAULT_STATSD_OPTIONS.prefixGauge],
  ['prefixSet', DEFAULT_STATSD_OPTIONS.prefixSet],
  ['globalSuffix', DEFAULT_STATSD_OPTIONS.globalSuffix],
  ['percentThreshold', DEFAULT_STATSD_OPTIONS.percentThreshold],
  ['flush_counts', DEFAULT_STATSD_OPTIONS.flushCounts],
  ['deleteIdleStats', DEFAULT_STATSD_OPTIONS.deleteIdleStats],
  ['gaugesMaxTTL', DEFAULT_STATSD_OPTIONS.gaugesMaxTTL],
];

export const STATSD_OUTPUT_KEY = configKey.table({
  key: 'statsd.output',
  defaultText: 'reference defaults',
  description:
    "the reference StatsD daemon's output options, same names and defaults: legacyNamespace, globalPrefix, " +
    'prefixCounter, prefixTimer, prefixGauge, prefixSet, globalSuffix, percentThreshold, histogram, ' +
    'deleteIdleStats, deleteCounters, deleteTimers, deleteSets, deleteGauges, gaugesMaxTTL, flush_counts, ' +
    'calculatedTimerMetrics',
  example: [
    '[statsd.output]',
    ...STATSD_OUTPUT_EXAMPLE.map(([name, value]) => `${name} = ${JSON.stringify(value).replace(/,/g, ', ')}`),
  ],
});

export const AGGREGATION_KEY = configKey.table({
  key: 'aggregation',
  defaultText: "carbon's storage-aggregation rules",
  description: '{ pattern, method, xFilesFactor } rules choosing how a stored value is derived from a window, by path',
  example: [
    '# [[aggregation]]',
    '# pattern = "\\\\.p99$"',
    '# method = "max"          # average | sum | min | max | last',
    '# xFilesFactor = 0.1',
  ],
});

export interface AggregationConfig {
  aggregator: AggregatorOptions;
  statsd: StatsdOptions;
  aggregationRules: readonly AggregationRule[];
}

export function readAggregationConfig(source: ConfigSource): AggregationConfig {
  const resolutions = parseResolutions(source.read(TIMES_KEY), TIMES_KEY.key);
  const values = readSection(source, AGGREGATOR_KEYS);
  checkGrace(values.graceSeconds, resolutions, AGGREGATOR_KEYS.graceSeconds.key);
  const rawRules = source.read(AGGREGATION_KEY);
  const maxLatenessSeconds = maxLatenessOf(
    source.read(MAX_LATENESS_KEY, `${resolutions[0]!.ttl}s`),
    resolutions,
    MAX_LATENESS_KEY.key,
  );
  return {
    aggregator: { resolutions, ...values, maxLatenessSeconds },
    statsd: parseStatsdOptions(source.read(STATSD_OUTPUT_KEY), STATSD_OUTPUT_KEY.key),
    aggregationRules:
      rawRules === undefined ? DEFAULT_AGGREGATION_RULES : parseAggregationRules(rawRules, AGGREGATION_KEY.key),
  };
}
