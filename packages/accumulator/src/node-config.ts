/**
 * The configuration of one aggregating node (the accumulator, and the all-in-one built on it): times, the
 * aggregator's bounds, StatsD output semantics, the store, the HTTP surface. Each package declares its own keys;
 * this module adds the node's and reads them all through ConfigSource (file, environment or `--set`).
 */
import { join } from 'node:path';
import {
  AGGREGATION_RULES_KEY,
  ConfigError,
  configKey,
  configSchema,
  HTTP_TLS_KEYS,
  HTTP_TOKEN_KEY,
  HTTP_LIMIT_KEYS,
  LOG_LEVEL_KEY,
  readHttpSecurity,
  TLS_RELOAD_INTERVAL_KEY,
  type HttpSecurity,
  readSection,
  TIMES_KEY,
  hasRetentionRules,
  RETENTION_KEY,
  retentionSourceKey,
  STORAGE_SCHEMAS_KEY,
  type AggregationRule,
  type RetentionRule,
  type ConfigSource,
  type ListenAddress,
  type LogLevel,
} from '@carillon/core';
import { NAME_LIMIT_KEYS, readNameLimits, type NameLimits } from '@carillon/protocols';
import {
  AGGREGATION_KEY,
  STORAGE_AGGREGATION_KEY,
  defaultNameBudgetBytes,
  AGGREGATOR_KEYS,
  MAX_LATENESS_KEY,
  readAggregationConfig,
  STATSD_OUTPUT_KEY,
  type AggregatorOptions,
  type StatsdOptions,
} from '@carillon/aggregator';
import {
  BLOB_KEYS,
  CASSANDRA_KEYS,
  readBlobConfig,
  readCassandraConfig,
  readWhisperConfig,
  type BlobStoreOptions,
  type CassandraConfig,
  readWriters,
  WHISPER_KEYS,
  WRITER_TYPES,
  WRITERS_KEY,
  type PreparedWriter,
  type WhisperConfig,
} from '@carillon/writers';
import { readTagDbConfig, TAGDB_KEYS, type TagDbConfig } from './tagdb-registrar.js';
import { QUERY_KEYS, readQueryConfig, type QueryConfig } from '@carillon/query';

export const STORES = ['whisper', 'memory', 'cassandra'] as const;
export type StoreKind = (typeof STORES)[number];

/** `[cassandra]`: where the store is and how the write pool writes it (declared in writers). */
export type CassandraNodeConfig = CassandraConfig;

export const NODE_KEYS = {
  store: configKey.oneOf({
    key: 'store',
    choices: STORES,
    default: 'whisper',
    description: 'whisper (files under whisper.data_dir), cassandra or memory',
  }),
  memoryMaxPoints: configKey.integer({
    key: 'memory.max_points',
    default: 2_000_000,
    min: 1,
    unit: 'points',
    description: 'for store = "memory"; the oldest points are evicted past it (counted)',
  }),
  writersMaxInFlightPoints: configKey.integer({
    key: 'sink.max_in_flight_points',
    default: 2_000_000,
    min: 1,
    unit: 'points',
    description:
      'points handed to the store (and an acked writer) and not yet written; above it flushes are skipped (counted)',
  }),
  writersMaxRetryPoints: configKey.integer({
    key: 'sink.max_retry_points',
    default: 2_000_000,
    min: 1,
    unit: 'points',
    description:
      'points a writer could not store (I/O error, full disk) kept to write again; their relay batches stay un-acked until stored; past it the oldest are dropped (counted)',
  }),
  writersRetryIntervalMs: configKey.duration({
    key: 'sink.retry_interval',
    default: '1s',
    readAs: 'milliseconds',
    description: 'how often a writer retries what it could not store',
  }),
  indexMaxSeries: configKey.integer({
    key: 'index.max_series',
    default: 1_000_000,
    min: 1,
    unit: 'series',
    description: 'series names the query index holds; more are refused (counted)',
  }),
  indexMaxBytes: configKey.integer({
    key: 'index.max_bytes',
    default: 0,
    computedDefault: 'a quarter of the V8 heap limit (--max-old-space-size)',
    min: 1 << 20,
    unit: 'bytes',
    description: 'memory budget of the query index; names past it are not indexed (counted)',
  }),
  httpListen: configKey.listen({
    key: 'http.listen',
    default: ':8080',
    description: 'Graphite API, /metrics, /healthz, POST /lines',
  }),
  httpMaxBodyBytes: configKey.integer({
    key: 'http.max_body_bytes',
    default: 8 << 20,
    min: 1024,
    unit: 'bytes',
    description: 'larger request bodies are refused with 413',
  }),
  httpRequestTimeoutMs: configKey.duration({
    key: 'http.request_timeout',
    default: '30s',
    readAs: 'milliseconds',
    description: 'a request (headers and body) not received in this time is answered 408 and closed',
  }),
  httpCorsAllowedOrigins: configKey.stringList({
    key: 'http.cors_allowed_origins',
    default: [],
    description:
      'browser origins allowed to read the Graphite API (CORS, OPTIONS preflight), e.g. ["https://grafana.example.com"]; "*" for any; empty: none',
  }),
} as const;

/** `[wal]`: the write-ahead log of accepted lines (wal/). */
export const WAL_KEYS = {
  dir: configKey.string({
    key: 'wal.dir',
    default: '',
    computedDefault: '<whisper.data_dir>/wal ("" for store = "memory")',
    description:
      'write-ahead log of received lines, replayed after a crash; "" for none (a crash then loses the windows not yet flushed)',
  }),
  segmentBytes: configKey.integer({
    key: 'wal.segment_bytes',
    default: 64 << 20,
    min: 4096,
    unit: 'bytes',
    description: 'a log segment is closed and a new one begun past this size',
  }),
  maxBytes: configKey.integer({
    key: 'wal.max_bytes',
    default: 1 << 30,
    min: 8192,
    unit: 'bytes',
    description:
      'bound on the whole log (at least two segments); past it the oldest segments are dropped (counted), and a crash then loses the windows they held',
  }),
  syncIntervalMs: configKey.duration({
    key: 'wal.sync_interval',
    default: '1s',
    readAs: 'milliseconds',
    description:
      'fdatasync period of the log; a kill -9 loses nothing appended, a power failure at most this much ("0s": never)',
  }),
} as const;

/** Every key a node reads, in the order the docs list them. */
export const NODE_SCHEMA = configSchema(
  [TIMES_KEY, NODE_KEYS.store, LOG_LEVEL_KEY],
  AGGREGATOR_KEYS,
  [MAX_LATENESS_KEY],
  [NODE_KEYS.writersMaxInFlightPoints, NODE_KEYS.writersMaxRetryPoints, NODE_KEYS.writersRetryIntervalMs],
  WHISPER_KEYS,
  CASSANDRA_KEYS,
  BLOB_KEYS,
  [NODE_KEYS.memoryMaxPoints, NODE_KEYS.indexMaxSeries, NODE_KEYS.indexMaxBytes],
  NAME_LIMIT_KEYS,
  [NODE_KEYS.httpListen, NODE_KEYS.httpMaxBodyBytes, NODE_KEYS.httpRequestTimeoutMs, NODE_KEYS.httpCorsAllowedOrigins],
  [HTTP_TOKEN_KEY],
  HTTP_TLS_KEYS,
  [TLS_RELOAD_INTERVAL_KEY],
  HTTP_LIMIT_KEYS,
  Object.values(QUERY_KEYS),
  [WAL_KEYS.dir, WAL_KEYS.segmentBytes, WAL_KEYS.maxBytes, WAL_KEYS.syncIntervalMs],
  TAGDB_KEYS,
  [
    STATSD_OUTPUT_KEY,
    AGGREGATION_KEY,
    STORAGE_AGGREGATION_KEY,
    RETENTION_KEY,
    STORAGE_SCHEMAS_KEY,
    AGGREGATION_RULES_KEY,
    WRITERS_KEY,
  ],
);

export interface NodeConfig {
  logLevel: LogLevel;
  aggregator: AggregatorOptions;
  statsd: StatsdOptions;
  aggregationRules: readonly AggregationRule[];
  /** The resolutions each series is stored at (whisper and Cassandra), `times` last. */
  retentionRules: readonly RetentionRule[];
  store: StoreKind;
  whisper: WhisperConfig;
  memory: { maxPoints: number };
  cassandra: CassandraNodeConfig;
  /** The blob keys of `[cassandra]`: flat rows, chunks or both per resolution, the chunk cache (writers blob/config.ts). */
  cassandraBlob: BlobStoreOptions;
  /** The writer sink's bounds for the store (the `sink.*` keys). */
  writers: { maxInFlightPoints: number; maxRetryPoints: number; retryIntervalMs: number };
  /** `[[writers]]`: the writers beside the store, each behind its own queue (packages/writers/src/outputs). */
  outputs: readonly PreparedWriter[];
  index: { maxSeries: number; maxBytes: number };
  names: NameLimits;
  http: {
    listen: ListenAddress | null;
    maxBodyBytes: number;
    requestTimeoutMs: number;
    headersTimeoutMs: number;
    maxConnections: number;
    corsAllowedOrigins: readonly string[];
    /** The bearer token of POST /lines, and TLS of the port. */
    security: HttpSecurity;
  };
  /** `[query]`: render workers and budgets. */
  query: QueryConfig;
  /** dir '' for none. */
  wal: { dir: string; segmentBytes: number; maxBytes: number; syncIntervalMs: number };
  /** graphite-web's tag database to tell of new tagged series; url '' for none. */
  tagdb: TagDbConfig;
}

export function readNodeConfig(source: ConfigSource): NodeConfig {
  const { aggregator, statsd, aggregationRules, retentionRules } = readAggregationConfig(source);
  const { indexMaxBytes, ...nodeKeys } = NODE_KEYS;
  const node = readSection(source, nodeKeys);
  // The memory store keeps every resolution of times for every series (it is for tests and trials).
  if (hasRetentionRules(retentionRules) && node.store === 'memory')
    throw new ConfigError(
      retentionSourceKey(source),
      'per-pattern retention is served by store = "whisper" or "cassandra", not "memory" (which keeps times for every series)',
    );
  const whisper = readWhisperConfig(source);
  const wal = readSection(source, WAL_KEYS);
  if (wal.maxBytes < 2 * wal.segmentBytes)
    throw new ConfigError(
      WAL_KEYS.maxBytes.key,
      `${wal.maxBytes} must hold at least two segments of wal.segment_bytes (${wal.segmentBytes})`,
    );
  return {
    logLevel: source.read(LOG_LEVEL_KEY),
    aggregator,
    statsd,
    aggregationRules,
    retentionRules,
    store: node.store,
    whisper,
    memory: { maxPoints: node.memoryMaxPoints },
    cassandra: readCassandraConfig(source),
    cassandraBlob: readBlobConfig(source, aggregator.resolutions),
    writers: {
      maxInFlightPoints: node.writersMaxInFlightPoints,
      maxRetryPoints: node.writersMaxRetryPoints,
      retryIntervalMs: node.writersRetryIntervalMs,
    },
    outputs: readWriters(source, WRITER_TYPES, {
      spillDir: node.store === 'memory' ? '' : join(whisper.dataDir, 'writers'),
    }),
    index: { maxSeries: node.indexMaxSeries, maxBytes: source.read(indexMaxBytes, defaultNameBudgetBytes()) },
    names: readNameLimits(source),
    http: {
      listen: node.httpListen,
      maxBodyBytes: node.httpMaxBodyBytes,
      requestTimeoutMs: node.httpRequestTimeoutMs,
      ...readSection(source, HTTP_LIMIT_KEYS),
      corsAllowedOrigins: node.httpCorsAllowedOrigins,
      security: readHttpSecurity(source),
    },
    query: readQueryConfig(source),
    // A memory store keeps nothing over a crash, so by default it keeps no log either.
    wal: { ...wal, dir: source.read(WAL_KEYS.dir, node.store === 'memory' ? '' : join(whisper.dataDir, 'wal')) },
    tagdb: readTagDbConfig(source),
  };
}
