/**
 * The relay's configuration, read through ConfigSource (TOML file, environment, `--set`); every error names
 * its key. Ring keys match the accumulator's (`ring.*`), so one file can serve both.
 */
import {
  ConfigError,
  parseListenAddress,
  parseResolutions,
  type ConfigSource,
  type ListenAddress,
} from '@carillon/core';
import { readLineListenerConfig, type LineListenerConfig } from '@carillon/protocols';
import { DEFAULT_REPLICAS, readStatsdPlacement, type RingMember, type StatsdPlacement } from '@carillon/ring';
import { DEFAULT_LINK_OPTIONS, type AccumulatorLinkOptions } from '@carillon/transport';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** The aggregator's default resolutions (the relay needs only the coarsest step, for ring boundaries). */
export const DEFAULT_TIMES = ['10s:168h', '1m:720h', '10m:21600h'] as const;

export interface RedisRingConfig {
  redisUrl: string;
  prefix: string;
  /** The coarsest resolution step: ring versions switch only on its boundaries. */
  stepSeconds: number;
  propagationDelaySeconds: number;
  retainSeconds: number;
  pollIntervalMs: number;
  timeoutMs: number;
}

export interface RelayConfig {
  logLevel: LogLevel;
  graphite: LineListenerConfig;
  statsd: LineListenerConfig;
  replicas: number;
  /**
   * How StatsD keys are placed: `carillon` (MurmurHash3 ring, versioned) or `statsd-proxy` (the reference StatsD
   * proxy's hashring over the static members, so a relay takes over from the proxy without moving any key).
   * Graphite lines always use the carillon ring.
   */
  statsdPlacement: StatsdPlacement;
  /** Exactly one of these: Redis membership, or a fixed member list. */
  redis: RedisRingConfig | null;
  staticMembers: RingMember[];
  link: AccumulatorLinkOptions;
  http: { listen: ListenAddress | null };
}

/** `id=host:port` entries of `accumulators`. */
export function parseStaticMembers(entries: readonly string[], key = 'accumulators'): RingMember[] {
  const seen = new Set<string>();
  return entries.map((entry, index) => {
    const itemKey = `${key}[${index}]`;
    const match = /^([^=\s]+)=([^\s:]+):(\d{1,5})$/.exec(entry.trim());
    if (!match || Number(match[3]) < 1 || Number(match[3]) > 65535)
      throw new ConfigError(itemKey, `"${entry}" must be id=host:port`);
    const id = match[1]!;
    if (seen.has(id)) throw new ConfigError(itemKey, `duplicate accumulator id "${id}"`);
    seen.add(id);
    return { id, address: `${match[2]}:${match[3]}` };
  });
}

function readLink(source: ConfigSource, maxLineLength: number): AccumulatorLinkOptions {
  const d = DEFAULT_LINK_OPTIONS;
  const maxBatchBytes = source.integer('link.max_batch_bytes', d.maxBatchBytes, { min: 1024, max: 64 << 20 });
  if (maxBatchBytes <= maxLineLength)
    throw new ConfigError(
      'link.max_batch_bytes',
      `must be larger than the longest accepted line (${maxLineLength} bytes), got ${maxBatchBytes}`,
    );
  const maxUnackedBytes = source.integer('link.max_unacked_bytes', d.maxUnackedBytes, { min: 1024 });
  if (maxUnackedBytes < 2 * maxBatchBytes)
    throw new ConfigError('link.max_unacked_bytes', `must be at least twice link.max_batch_bytes (${maxBatchBytes})`);
  const backoffInitialMs = source.integer('link.backoff_initial_ms', d.backoffInitialMs, { min: 1 });
  const backoffMaxMs = 1000 * source.duration('link.backoff_max', `${d.backoffMaxMs / 1000}s`);
  if (backoffMaxMs < backoffInitialMs)
    throw new ConfigError('link.backoff_max', `must not be shorter than link.backoff_initial_ms (${backoffInitialMs})`);
  return {
    maxBatchBytes,
    maxBatchDelayMs: source.integer('link.max_batch_delay_ms', d.maxBatchDelayMs, { min: 1, max: 60_000 }),
    maxUnackedBytes,
    connectTimeoutMs: 1000 * source.duration('link.connect_timeout', `${d.connectTimeoutMs / 1000}s`),
    backoffInitialMs,
    backoffMaxMs,
    keepaliveTimeMs: 1000 * source.duration('link.keepalive_time', `${d.keepaliveTimeMs / 1000}s`),
    keepaliveTimeoutMs: 1000 * source.duration('link.keepalive_timeout', `${d.keepaliveTimeoutMs / 1000}s`),
    closeTimeoutMs: 1000 * source.duration('link.close_timeout', `${d.closeTimeoutMs / 1000}s`),
    // Whole seconds: the accumulator takes a batch's "now" as floor(received_at_ms / 1000).
    batchTimeQuantumMs: 1000,
  };
}

export function readRelayConfig(source: ConfigSource): RelayConfig {
  const resolutions = parseResolutions(source.stringList('times', DEFAULT_TIMES), 'times');
  const graphite = readLineListenerConfig(source, 'graphite', 2003);
  const statsd = readLineListenerConfig(source, 'statsd', 8125);
  const redisUrl = source.string('ring.redis_url', '');
  const staticMembers = parseStaticMembers(source.stringList('accumulators', []));
  const ringKeys = {
    prefix: source.string('ring.prefix', 'carillon'),
    propagationDelaySeconds: source.duration('ring.propagation_delay', '10s'),
    retainSeconds: source.duration('ring.retain', '1h'),
    pollIntervalMs: 1000 * source.duration('ring.poll_interval', '5s'),
    timeoutMs: 1000 * source.duration('ring.timeout', '2s'),
  };
  if (redisUrl === '' && staticMembers.length === 0)
    throw new ConfigError('accumulators', 'list at least one "id=host:port", or set ring.redis_url');
  if (redisUrl !== '' && staticMembers.length > 0)
    throw new ConfigError('accumulators', 'set either ring.redis_url or a static list, not both');
  const statsdPlacement = readStatsdPlacement(source, redisUrl);
  const config: RelayConfig = {
    logLevel: source.oneOf('log_level', LOG_LEVELS, 'info'),
    graphite,
    statsd,
    replicas: source.integer('ring.replicas', DEFAULT_REPLICAS, { min: 1, max: 100_000 }),
    statsdPlacement,
    redis: redisUrl === '' ? null : { redisUrl, stepSeconds: resolutions[resolutions.length - 1]!.step, ...ringKeys },
    staticMembers,
    link: readLink(source, Math.max(graphite.maxLineLength, statsd.maxLineLength)),
    http: { listen: parseListenAddress(source.string('http.listen', ':8090'), 'http.listen') },
  };
  source.assertAllKeysKnown();
  return config;
}
