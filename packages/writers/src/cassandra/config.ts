import { readFileSync } from 'node:fs';
/** The `[cassandra]` keys of `store = "cassandra"`: where the store is and how the write pool writes it. */
import { ConfigError, configKey, formatDurationMs, readSection, type ConfigSource } from '@carillon/core';
import { DEFAULT_CASSANDRA_OPTIONS, DEFAULT_RETRY, isValidKeyspace, parseReplication } from './options.js';

const d = DEFAULT_CASSANDRA_OPTIONS;

export const CASSANDRA_KEYS = {
  contactPoints: configKey.stringList({
    key: 'cassandra.contact_points',
    default: ['127.0.0.1:9042'],
    description: 'host[:port] of the nodes the driver contacts first',
  }),
  localDataCenter: configKey.string({
    key: 'cassandra.local_data_center',
    default: d.localDataCenter,
    description: 'the data center the driver prefers',
  }),
  keyspace: configKey.string({
    key: 'cassandra.keyspace',
    default: 'carillon',
    description: 'created by the program if missing',
  }),
  replication: configKey.string({
    key: 'cassandra.replication',
    default: 'SimpleStrategy:1',
    description: 'of a created keyspace: SimpleStrategy:N or NetworkTopologyStrategy:dc1=3,dc2=3',
  }),
  workers: configKey.integer({
    key: 'cassandra.workers',
    default: 2,
    min: 1,
    max: 64,
    unit: 'threads',
    description: 'write pool threads',
  }),
  queueHighWaterPoints: configKey.integer({
    key: 'cassandra.queue_high_water_points',
    default: 200_000,
    min: 1,
    unit: 'points',
    description: 'unwritten points above which flushes are skipped',
  }),
  maxQueuePoints: configKey.integer({
    key: 'cassandra.max_queue_points',
    default: 4_000_000,
    min: 1,
    unit: 'points',
    description: 'per worker; past it a writer drops, counted',
  }),
  maxInFlight: configKey.integer({
    key: 'cassandra.max_in_flight',
    default: d.maxInFlight,
    min: 1,
    max: 4096,
    unit: 'operations',
    description: 'statements in flight per worker',
  }),
  connectTimeoutMs: configKey.duration({
    key: 'cassandra.connect_timeout',
    default: formatDurationMs(d.connectTimeoutMs),
    readAs: 'milliseconds',
    min: '1ms',
    description: 'connecting to a node',
  }),
  readTimeoutMs: configKey.duration({
    key: 'cassandra.read_timeout',
    default: formatDurationMs(d.readTimeoutMs),
    readAs: 'milliseconds',
    min: '1ms',
    description: 'a request a node has not answered in this time fails',
  }),
  retries: configKey.integer({
    key: 'cassandra.retries',
    default: DEFAULT_RETRY.maxRetries,
    min: 0,
    description: 'attempts after the first; past them the rows are counted as failed',
  }),
  retryDelayMs: configKey.duration({
    key: 'cassandra.retry_delay',
    default: formatDurationMs(DEFAULT_RETRY.baseDelayMs),
    readAs: 'milliseconds',
    min: '1ms',
    description: 'first backoff; each retry doubles it up to cassandra.retry_max_delay',
  }),
  retryMaxDelayMs: configKey.duration({
    key: 'cassandra.retry_max_delay',
    default: formatDurationMs(DEFAULT_RETRY.maxDelayMs),
    readAs: 'milliseconds',
    min: '1ms',
    description: 'longest backoff between retries',
  }),
  username: configKey.string({
    key: 'cassandra.username',
    default: '',
    description: 'user of PasswordAuthenticator ("" = no authentication)',
  }),
  password: configKey.string({
    key: 'cassandra.password',
    default: '',
    description: 'its password; set it from a Secret (CARILLON_CASSANDRA_PASSWORD), never logged',
  }),
  tls: configKey.boolean({
    key: 'cassandra.tls',
    default: false,
    description: 'TLS to Cassandra (client_encryption_options), verified against cassandra.tls_ca or the system roots',
  }),
  tlsCa: configKey.string({
    key: 'cassandra.tls_ca',
    default: '',
    description: "PEM CA file of Cassandra's certificates",
  }),
  tlsCert: configKey.string({
    key: 'cassandra.tls_cert',
    default: '',
    description: 'PEM client certificate file, for a Cassandra that requires one (require_client_auth)',
  }),
  tlsKey: configKey.string({
    key: 'cassandra.tls_key',
    default: '',
    description: 'PEM private key file of cassandra.tls_cert',
  }),
  indexCacheSize: configKey.integer({
    key: 'cassandra.index_cache_size',
    default: d.indexCacheSize,
    min: 1,
    unit: 'series',
    description: 'index entries remembered as written, so a known path is not rewritten every flush',
  }),
} as const;

export interface CassandraConfig {
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
  username: string;
  password: string;
  tls: boolean;
  tlsCa: string;
  tlsCert: string;
  tlsKey: string;
}

export function readCassandraConfig(source: ConfigSource): CassandraConfig {
  const values = readSection(source, CASSANDRA_KEYS);
  const { contactPoints, keyspace } = values;
  if (contactPoints.length === 0)
    throw new ConfigError(CASSANDRA_KEYS.contactPoints.key, 'needs at least one host[:port]');
  for (const point of contactPoints)
    if (!/^[A-Za-z0-9.\-:[\]]+$/.test(point))
      throw new ConfigError(CASSANDRA_KEYS.contactPoints.key, `"${point}" is not a host or host:port`);
  if (!isValidKeyspace(keyspace))
    throw new ConfigError(
      CASSANDRA_KEYS.keyspace.key,
      `"${keyspace}" must be a letter then letters, digits or _, at most 48`,
    );
  const replication = parseReplication(values.replication);
  if (typeof replication === 'string') throw new ConfigError(CASSANDRA_KEYS.replication.key, replication);
  const config = { ...values, replication };
  checkRetryDelays(config);
  checkCredentials(config);
  return config;
}

/** Credentials and TLS files come in usable sets, readable at start. */
function checkCredentials(config: CassandraConfig): void {
  if ((config.username === '') !== (config.password === ''))
    throw new ConfigError(CASSANDRA_KEYS.username.key, `set with ${CASSANDRA_KEYS.password.key}, or neither`);
  if ((config.tlsCert === '') !== (config.tlsKey === ''))
    throw new ConfigError(CASSANDRA_KEYS.tlsCert.key, `set with ${CASSANDRA_KEYS.tlsKey.key}, or neither`);
  for (const key of [CASSANDRA_KEYS.tlsCa, CASSANDRA_KEYS.tlsCert, CASSANDRA_KEYS.tlsKey]) {
    const path = config[key === CASSANDRA_KEYS.tlsCa ? 'tlsCa' : key === CASSANDRA_KEYS.tlsCert ? 'tlsCert' : 'tlsKey'];
    if (path === '') continue;
    if (!config.tls) throw new ConfigError(key.key, `is set but ${CASSANDRA_KEYS.tls.key} is false`);
    try {
      readFileSync(path);
    } catch (error) {
      throw new ConfigError(key.key, `cannot read ${path}: ${(error as Error).message}`);
    }
  }
}

/** The doubling backoff needs a ceiling at or above its start. */
function checkRetryDelays(config: CassandraConfig): void {
  if (config.retryMaxDelayMs < config.retryDelayMs)
    throw new ConfigError(CASSANDRA_KEYS.retryMaxDelayMs.key, `must not be below ${CASSANDRA_KEYS.retryDelayMs.key}`);
}
