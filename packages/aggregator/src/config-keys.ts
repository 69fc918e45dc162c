/**
 * The aggregator's keys: `[aggregator]` (lateness and memory bounds), `[statsd.output]` (the reference StatsD
 * daemon's output options, validated by parseStatsdOptions) and `[[aggregation]]` (how a stored value is derived
 * from a window, validated by core's parseAggregationRules, or read from carbon's `storage-aggregation.conf`).
 */
import { getHeapStatistics } from 'node:v8';
import {
  ConfigError,
  readConfiguredFile,
  configKey,
  DEFAULT_AGGREGATION_RULES,
  AGGREGATION_RULES_KEY,
  outputStorageRules,
  parseAggregationRules,
  parseCarbonAggregationRules,
  parseResolutions,
  parseStorageAggregation,
  readRetentionRules,
  readSection,
  TIMES_KEY,
  type AggregationRule,
  type ConfigSource,
  type RetentionRule,
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
  maxSeriesBytes: configKey.integer({
    key: 'aggregator.max_series_bytes',
    default: 0,
    computedDefault: 'a quarter of the V8 heap limit (--max-old-space-size)',
    min: 1 << 20,
    unit: 'bytes',
    description:
      'memory budget of the series names the aggregator holds; points of new series past it are refused (counted)',
  }),
  seriesIdleSeconds: configKey.duration({
    key: 'aggregator.series_idle_timeout',
    default: '6h',
    readAs: 'seconds',
    description: 'a series without a point for this long is forgotten (its memory freed); at least the coarsest step',
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
/** A quarter of the heap each for the aggregator's and the index's names leaves room for windows and buffers. */
export function defaultNameBudgetBytes(): number {
  return Math.floor(getHeapStatistics().heap_size_limit / 4);
}

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

export const STORAGE_AGGREGATION_KEY = configKey.string({
  key: 'carbon.storage_aggregation',
  default: '',
  description:
    'path of a carbon storage-aggregation.conf to take the aggregation rules from (pattern, aggregationMethod, xFilesFactor; first match wins), instead of [[aggregation]]; "" for none',
});

export interface AggregationConfig {
  aggregator: AggregatorOptions;
  statsd: StatsdOptions;
  aggregationRules: readonly AggregationRule[];
  /** The resolutions each series is stored at, the last rule (times) matching every series. */
  retentionRules: readonly RetentionRule[];
}

export function readAggregationConfig(source: ConfigSource): AggregationConfig {
  const resolutions = parseResolutions(source.read(TIMES_KEY), TIMES_KEY.key);
  const { maxSeriesBytes, ...plainKeys } = AGGREGATOR_KEYS;
  const values = readSection(source, plainKeys);
  checkGrace(values.graceSeconds, resolutions, AGGREGATOR_KEYS.graceSeconds.key);
  const maxLatenessSeconds = maxLatenessOf(
    source.read(MAX_LATENESS_KEY, `${resolutions[0]!.ttl}s`),
    resolutions,
    MAX_LATENESS_KEY.key,
  );
  const coarsest = resolutions[resolutions.length - 1]!.step;
  // A series is forgotten only once no open window can hold it; shorter would forget it between its points.
  if (values.seriesIdleSeconds < coarsest)
    throw new ConfigError(AGGREGATOR_KEYS.seriesIdleSeconds.key, `must be at least the coarsest step (${coarsest}s)`);
  return {
    aggregator: {
      resolutions,
      ...values,
      maxLatenessSeconds,
      maxSeriesBytes: source.read(maxSeriesBytes, defaultNameBudgetBytes()),
    },
    statsd: parseStatsdOptions(source.read(STATSD_OUTPUT_KEY), STATSD_OUTPUT_KEY.key),
    aggregationRules: withOutputRules(
      readAggregationOutputRules(
        source,
        resolutions.map((r) => r.step),
      ),
      readAggregationRules(source),
    ),
    retentionRules: readRetentionRules(source, resolutions),
  };
}

const withOutputRules = (
  outputs: readonly AggregationRule[],
  rules: readonly AggregationRule[],
): readonly AggregationRule[] => (outputs.length === 0 ? rules : [...outputs, ...rules]);

/** The outputs of carbon-aggregator's rules are stored with their rule's method, before any other rule. */
function readAggregationOutputRules(source: ConfigSource, steps: readonly number[]): AggregationRule[] {
  const path = source.read(AGGREGATION_RULES_KEY);
  if (path === '') return [];
  const where = `${AGGREGATION_RULES_KEY.key} (${path})`;
  return outputStorageRules(
    parseCarbonAggregationRules(readConfiguredFile(AGGREGATION_RULES_KEY.key, path), where, steps),
  );
}

function readAggregationRules(source: ConfigSource): readonly AggregationRule[] {
  const rawRules = source.read(AGGREGATION_KEY);
  const file = source.read(STORAGE_AGGREGATION_KEY);
  if (file === '')
    return rawRules === undefined ? DEFAULT_AGGREGATION_RULES : parseAggregationRules(rawRules, AGGREGATION_KEY.key);
  if (rawRules !== undefined)
    throw new ConfigError(STORAGE_AGGREGATION_KEY.key, 'is set beside [[aggregation]]: keep one of them');
  return parseStorageAggregation(
    readConfiguredFile(STORAGE_AGGREGATION_KEY.key, file),
    `${STORAGE_AGGREGATION_KEY.key} (${file})`,
  );
}
