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
import { isValidKeyspace, parseReplication, readBlobConfig, type BlobStoreOptions } from '@carillon/writers';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const STORES = ['whisper', 'memory', 'cassandra'] as const;
export type StoreKind = (typeof STORES)[number];

export interface NodeConfig {
  logLevel: LogLevel;
  aggregator: AggregatorOptions;
  statsd: StatsdOptions;
  aggregationRules: readonly AggregationRule[];
  store: StoreKind;
  whisper: { dataDir: string; maxOpenFiles: number; concurrency: number };
  memory: { maxPoints: number };
  cassandra: CassandraNodeConfig;
  /** The blob keys of `[cassandra]`: flat rows, chunks or both per resolution, the chunk cache (writers blob/config.ts). */
  cassandraBlob: BlobStoreOptions;
  writers: { maxInFlightPoints: number; maxRetryPoints: number; retryIntervalMs: number };
  index: { maxSeries: number };
  http: { listen: ListenAddress | null; maxBodyBytes: number; requestTimeoutMs: number };
}

/** `[cassandra]`: where the store is and how the write pool writes it. */
export interface CassandraNodeConfig {
  contactPoints: string[];
  localDataCenter: string;
  keyspace: string;
  replication: Record<string, string>;
  workers: number;
  queueHighWaterPoints: number;
  maxQueuePoints: number;
  maxInFlight: number;
  connectTimeoutMs: number;
  readTimeoutMs: number;
  retries: number;
  retryDelayMs: number;
  retryMaxDelayMs: number;
  indexCacheSize: number;
}

function readCassandraConfig(source: ConfigSource): CassandraNodeConfig {
  const contactPoints = source.stringList('cassandra.contact_points', ['127.0.0.1:9042']);
  if (contactPoints.length === 0) throw new ConfigError('cassandra.contact_points', 'needs at least one host[:port]');
  for (const point of contactPoints)
    if (!/^[A-Za-z0-9.\-:[\]]+$/.test(point))
      throw new ConfigError('cassandra.contact_points', `"${point}" is not a host or host:port`);
  const keyspace = source.string('cassandra.keyspace', 'carillon');
  if (!isValidKeyspace(keyspace))
    throw new ConfigError('cassandra.keyspace', `"${keyspace}" must be a letter then letters, digits or _, at most 48`);
  const replication = parseReplication(source.string('cassandra.replication', 'SimpleStrategy:1'));
  if (typeof replication === 'string') throw new ConfigError('cassandra.replication', replication);
  return {
    contactPoints,
    localDataCenter: source.string('cassandra.local_data_center', 'datacenter1'),
    keyspace,
    replication,
    workers: source.integer('cassandra.workers', 2, { min: 1, max: 64 }),
    queueHighWaterPoints: source.integer('cassandra.queue_high_water_points', 200_000, { min: 1 }),
    maxQueuePoints: source.integer('cassandra.max_queue_points', 4_000_000, { min: 1 }),
    maxInFlight: source.integer('cassandra.max_in_flight', 64, { min: 1, max: 4096 }),
    connectTimeoutMs: source.integer('cassandra.connect_timeout_ms', 5_000, { min: 1 }),
    readTimeoutMs: source.integer('cassandra.read_timeout_ms', 10_000, { min: 1 }),
    retries: source.integer('cassandra.retries', 60, { min: 0 }),
    retryDelayMs: source.integer('cassandra.retry_delay_ms', 100, { min: 1 }),
    retryMaxDelayMs: source.integer('cassandra.retry_max_delay_ms', 5_000, { min: 1 }),
    indexCacheSize: source.integer('cassandra.index_cache_size', 1_000_000, { min: 1 }),
  };
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
    cassandra: readCassandraConfig(source),
    cassandraBlob: readBlobConfig(source, aggregator.resolutions),
    writers: {
      maxInFlightPoints: source.integer('writers.max_in_flight_points', 2_000_000, { min: 1 }),
      maxRetryPoints: source.integer('writers.max_retry_points', 2_000_000, { min: 1 }),
      retryIntervalMs: 1000 * source.duration('writers.retry_interval', '1s'),
    },
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
  if (config.cassandra.retryMaxDelayMs < config.cassandra.retryDelayMs)
    throw new ConfigError('cassandra.retry_max_delay_ms', 'must not be below cassandra.retry_delay_ms');
}
