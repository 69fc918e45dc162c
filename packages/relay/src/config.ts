/**
 * The relay's configuration, read through ConfigSource (TOML file, environment, `--set`); every error names
 * its key. Ring keys are read by the same code as the accumulator's (`readRingConfig`), so one file can serve both.
 */
import { availableParallelism } from 'node:os';
import {
  AGGREGATION_RULES_KEY,
  HTTP_TLS_KEYS,
  HTTP_TOKEN_KEY,
  readHttpSecurity,
  TLS_RELOAD_INTERVAL_KEY,
  type HttpSecurity,
  configKey,
  configSchema,
  HTTP_LIMIT_KEYS,
  readSection,
  LOG_LEVEL_KEY,
  parseResolutions,
  TIMES_KEY,
  readRetentionRules,
  RETENTION_KEY,
  STORAGE_SCHEMAS_KEY,
  type RetentionRule,
  type ConfigInputs,
  type ConfigSource,
  type ListenAddress,
  type LogLevel,
  type Resolution,
} from '@carillon/core';
import {
  GRAPHITE_LISTENER_KEYS,
  KEY_RULES_KEYS,
  LISTENER_TLS_SCHEMA,
  PICKLE_LISTENER_KEYS,
  readKeyRules,
  readLineListenerConfig,
  readPickleListenerConfig,
  type KeyRules,
  type PickleListenerConfig,
  STATSD_LISTENER_KEYS,
  type LineListenerConfig,
} from '@carillon/protocols';
import { QUERY_KEYS, readQueryConfig, type QueryConfig } from '@carillon/query';
import { RING_KEYS, readRingConfig, ringStepOf, type RingConfig } from '@carillon/ring';
import {
  CLUSTER_KEYS,
  LINK_KEYS,
  readClusterSecurity,
  readLinkConfig,
  type AccumulatorLinkOptions,
  type ClusterSecurity,
} from '@carillon/transport';
import { SPOOL_KEYS, readSpoolConfig } from './spool/config.js';
import type { SpoolOptions } from './spool/spool.js';

export const RELAY_HTTP_LISTEN_KEY = configKey.listen({
  key: 'http.listen',
  default: ':8090',
  description:
    '/metrics, /livez, /readyz, /healthz, /ring (versions, members, per-destination queues and connection state) and the Graphite API for the whole cluster',
});

export const RELAY_WORKERS_KEY = configKey.integer({
  key: 'relay.workers',
  // Every core: the chaos run's lost window with several threads was the leaving member's (docs/ARCHITECTURE.md,
  // "Relay threads").
  default: 0,
  min: 0,
  max: 256,
  unit: 'threads',
  description:
    'ingest threads: each binds the listener ports (SO_REUSEPORT, the kernel spreads connections and datagrams) and routes its lines over its own links under its own relay identity; the main thread keeps membership and the HTTP surface. 0 = one per core (os.availableParallelism()); 1 = listeners and links on the main thread',
});

/**
 * How the relay reads the cluster for its Graphite API (cluster-read.ts). Its render workers and budgets are the
 * accumulator's `[query]` keys (QUERY_KEYS, query-config.ts), read by the same code; none of these names is one
 * of those.
 */
export const RELAY_QUERY_KEYS = {
  timeoutMs: configKey.duration({
    key: 'query.timeout',
    default: '5s',
    readAs: 'milliseconds',
    min: '1ms',
    description: 'deadline of every read call to an accumulator; one that misses it is reported missing',
  }),
  allowPartial: configKey.boolean({
    key: 'query.allow_partial',
    default: true,
    description:
      'answer without an accumulator that did not answer (200, named in the X-Carillon-Missing-Accumulators and Warning headers), as graphite-web does with its cluster servers; false answers 503',
  }),
  concurrency: configKey.integer({
    key: 'query.concurrency',
    default: 8,
    min: 1,
    max: 1024,
    unit: 'operations',
    description: 'read calls in flight to one accumulator',
  }),
  maxQueued: configKey.integer({
    key: 'query.max_queued',
    default: 1000,
    min: 1,
    unit: 'operations',
    description:
      'read calls waiting for one accumulator behind those in flight; more are refused (relay_query_queue_full_total) and the accumulator reported missing',
  }),
  maxSeriesPerRequest: configKey.integer({
    key: 'query.max_series_per_request',
    default: 500,
    min: 1,
    max: 100_000,
    unit: 'series',
    description: 'series one read call to an accumulator carries (a render is split into calls of this many)',
  }),
  sharedStore: configKey.boolean({
    key: 'query.shared_store',
    default: false,
    description:
      'the accumulators share one store (store = "cassandra"): windows of an accumulator that left or does not answer are read from the store through another',
  }),
} as const;

/** Every key the relay reads. */
export const RELAY_SCHEMA = configSchema(
  [TIMES_KEY, LOG_LEVEL_KEY, RETENTION_KEY, STORAGE_SCHEMAS_KEY],
  GRAPHITE_LISTENER_KEYS,
  PICKLE_LISTENER_KEYS,
  STATSD_LISTENER_KEYS,
  KEY_RULES_KEYS,
  [AGGREGATION_RULES_KEY],
  LISTENER_TLS_SCHEMA,
  RING_KEYS,
  LINK_KEYS,
  SPOOL_KEYS,
  [RELAY_HTTP_LISTEN_KEY, HTTP_TOKEN_KEY, RELAY_WORKERS_KEY],
  HTTP_TLS_KEYS,
  HTTP_LIMIT_KEYS,
  CLUSTER_KEYS,
  [TLS_RELOAD_INTERVAL_KEY],
  RELAY_QUERY_KEYS,
  QUERY_KEYS,
);

export interface RelayConfig {
  logLevel: LogLevel;
  /** Ingest threads (`relay.workers`, 0 resolved to the cores); 1 runs them on the main thread. */
  workers: number;
  /** What the config was read from: each ingest worker reads the same config again (its rules hold classes). */
  inputs: ConfigInputs;
  graphite: LineListenerConfig;
  /** carbon's pickle receiver; its points are routed as Graphite lines. */
  pickle: PickleListenerConfig;
  statsd: LineListenerConfig;
  /** carbon's black/white lists and rewrite rules, on Graphite and pickle lines before they are placed. */
  keyRules: KeyRules;
  /**
   * Membership (Redis or the static list) and placement. `ring.placement = "statsd-proxy"` places StatsD keys as
   * the reference StatsD proxy's hashring over the static members; Graphite lines always use the carillon ring.
   */
  ring: RingConfig;
  /** The coarsest resolution step (from `times`): ring versions switch only on its boundaries. */
  ringStepSeconds: number;
  link: AccumulatorLinkOptions;
  /** The disk spool of the lines read (`dir` "" for none). */
  spool: SpoolOptions;
  http: {
    listen: ListenAddress | null;
    security: HttpSecurity;
    maxConnections: number;
    headersTimeoutMs: number;
  };
  /** The cluster token and TLS toward the accumulators. */
  cluster: ClusterSecurity;
  /** Finest first: the windows the Graphite API reads, the same `times` as the accumulators'. */
  resolutions: Resolution[];
  /** The accumulators' retention rules: each series is read at the resolutions its files keep. */
  retentionRules: readonly RetentionRule[];
  /** The cluster reads (RELAY_QUERY_KEYS) and the render workers and budgets (`render`, as an accumulator's). */
  query: RelayQueryConfig & QueryConfig;
}

export interface RelayQueryConfig {
  timeoutMs: number;
  allowPartial: boolean;
  concurrency: number;
  maxQueued: number;
  maxSeriesPerRequest: number;
  sharedStore: boolean;
}

export function readRelayConfig(source: ConfigSource): RelayConfig {
  const resolutions = parseResolutions(source.read(TIMES_KEY), TIMES_KEY.key);
  const graphite = readLineListenerConfig(source, GRAPHITE_LISTENER_KEYS);
  const statsd = readLineListenerConfig(source, STATSD_LISTENER_KEYS);
  const workers = source.read(RELAY_WORKERS_KEY);
  const config: RelayConfig = {
    logLevel: source.read(LOG_LEVEL_KEY),
    workers: workers === 0 ? availableParallelism() : workers,
    inputs: source.inputs(),
    graphite,
    pickle: readPickleListenerConfig(source),
    statsd,
    keyRules: readKeyRules(
      source,
      resolutions.map((r) => r.step),
    ),
    ring: readRingConfig(source, resolutions[0]!.ttl),
    ringStepSeconds: ringStepOf(resolutions),
    link: readLinkConfig(source, Math.max(graphite.maxLineLength, statsd.maxLineLength)),
    spool: readSpoolConfig(source),
    http: {
      listen: source.read(RELAY_HTTP_LISTEN_KEY),
      security: readHttpSecurity(source),
      ...readSection(source, HTTP_LIMIT_KEYS),
    },
    cluster: readClusterSecurity(source, 'relay'),
    resolutions,
    retentionRules: readRetentionRules(source, resolutions),
    query: { ...readSection(source, RELAY_QUERY_KEYS), ...readQueryConfig(source) },
  };
  source.assertAllKeysKnown();
  return config;
}
