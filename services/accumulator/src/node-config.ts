/**
 * The configuration of one aggregating node (the accumulator, and the all-in-one built on it): times, the
 * aggregator's bounds, StatsD output semantics, the store, the HTTP surface. Read through ConfigSource so
 * every key can come from the TOML file, the environment or `--set`.
 */
import {
  ConfigError,
  DEFAULT_AGGREGATION_RULES,
  parseAggregationRules,
  parseListenAddress,
  type AggregationRule,
  type ConfigSource,
  type ListenAddress,
} from '@carillon/core';
import {
  DEFAULT_AGGREGATOR_OPTIONS,
  DEFAULT_TIMES,
  parseAggregatorOptions,
  parseStatsdOptions,
  type AggregatorOptions,
  type StatsdOptions,
} from '@carillon/aggregator';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const STORES = ['whisper', 'memory'] as const;
export type StoreKind = (typeof STORES)[number];

export interface NodeConfig {
  logLevel: LogLevel;
  aggregator: AggregatorOptions;
  statsd: StatsdOptions;
  aggregationRules: readonly AggregationRule[];
  store: StoreKind;
  whisper: { dataDir: string; maxOpenFiles: number; concurrency: number };
  memory: { maxPoints: number };
  writers: { maxInFlightPoints: number };
  index: { maxSeries: number };
  http: { listen: ListenAddress | null; maxBodyBytes: number; requestTimeoutMs: number };
}

export function readNodeConfig(source: ConfigSource): NodeConfig {
  const aggregator = parseAggregatorOptions(
    {
      times: source.stringList('times', DEFAULT_TIMES),
      grace: source.duration('aggregator.grace', `${DEFAULT_AGGREGATOR_OPTIONS.graceSeconds}s`),
      max_future: source.duration('aggregator.max_future', `${DEFAULT_AGGREGATOR_OPTIONS.maxFutureSeconds}s`),
      max_pending_points: source.integer('aggregator.max_pending_points', DEFAULT_AGGREGATOR_OPTIONS.maxPendingPoints),
      max_statsd_interval_values: source.integer(
        'aggregator.max_statsd_interval_values',
        DEFAULT_AGGREGATOR_OPTIONS.maxStatsdIntervalValues,
      ),
    },
    '',
  );
  const rawRules = source.raw('aggregation');
  return {
    logLevel: source.oneOf('log_level', LOG_LEVELS, 'info'),
    aggregator,
    statsd: parseStatsdOptions(source.raw('statsd.output'), 'statsd.output'),
    aggregationRules:
      rawRules === undefined ? DEFAULT_AGGREGATION_RULES : parseAggregationRules(rawRules, 'aggregation'),
    store: source.oneOf('store', STORES, 'whisper'),
    whisper: {
      dataDir: source.string('whisper.data_dir', './data'),
      maxOpenFiles: source.integer('whisper.max_open_files', 1024, { min: 1 }),
      concurrency: source.integer('whisper.concurrency', 16, { min: 1, max: 1024 }),
    },
    memory: { maxPoints: source.integer('memory.max_points', 2_000_000, { min: 1 }) },
    writers: { maxInFlightPoints: source.integer('writers.max_in_flight_points', 2_000_000, { min: 1 }) },
    index: { maxSeries: source.integer('index.max_series', 1_000_000, { min: 1 }) },
    http: {
      listen: parseListenAddress(source.string('http.listen', ':8080'), 'http.listen'),
      maxBodyBytes: source.integer('http.max_body_bytes', 8 << 20, { min: 1024 }),
      requestTimeoutMs: 1000 * source.duration('http.request_timeout', '30s'),
    },
  };
}

/** Resolution-independent checks that need several keys at once. */
export function checkNodeConfig(config: NodeConfig): void {
  if (config.whisper.dataDir.trim() === '') throw new ConfigError('whisper.data_dir', 'must not be empty');
}
