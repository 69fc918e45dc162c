/**
 * Reads the `ring.*` keys, `ring.placement` and the static member list `accumulators = ["id=host:port", ...]`
 * into a RingConfig, the same way for the relay and the accumulator so one file can serve both.
 */
import { ConfigError, configKey, readConfiguredFile, readSection, type ConfigSource } from '@carillon/core';
import { DEFAULT_REPLICAS } from './hash-ring.js';
import { PLACEMENT_KEY, STATSD_PLACEMENTS } from './placement.js';
import type { RingConfig } from './ring-config.js';
import type { RingMember } from './ring-versions.js';

export const RING_KEYS = {
  redisUrl: configKey.string({
    key: 'ring.redis_url',
    default: '',
    description: 'Redis membership; "" means the static accumulators list',
  }),
  redisUsername: configKey.string({
    key: 'ring.redis_username',
    default: '',
    description: 'Redis ACL user ("" = default); kept out of ring.redis_url so it never appears in a log',
  }),
  redisPassword: configKey.string({
    key: 'ring.redis_password',
    default: '',
    description: 'Redis password (AUTH); set it from a Secret (CARILLON_RING_REDIS_PASSWORD), never logged',
  }),
  redisTls: configKey.boolean({
    key: 'ring.redis_tls',
    default: false,
    description: 'TLS to Redis (also on with a rediss:// URL); verified against ring.redis_tls_ca or the system roots',
  }),
  redisTlsCa: configKey.string({
    key: 'ring.redis_tls_ca',
    default: '',
    description: "PEM CA file of Redis's certificate",
  }),
  redisTlsCert: configKey.string({
    key: 'ring.redis_tls_cert',
    default: '',
    description: 'PEM client certificate file, for a Redis that requires one (tls-auth-clients)',
  }),
  redisTlsKey: configKey.string({
    key: 'ring.redis_tls_key',
    default: '',
    description: 'PEM private key file of ring.redis_tls_cert',
  }),
  prefix: configKey.string({ key: 'ring.prefix', default: 'carillon', description: 'prefix of the Redis keys' }),
  staticMembers: configKey.stringList({
    key: 'accumulators',
    default: [],
    description: 'the static member list, "id=host:port" each, when there is no ring.redis_url',
  }),
  placement: configKey.oneOf({
    key: PLACEMENT_KEY,
    choices: STATSD_PLACEMENTS,
    default: 'carillon',
    description: 'how StatsD keys are placed; statsd-proxy places them as the reference StatsD proxy (static list)',
  }),
  replicas: configKey.integer({
    key: 'ring.replicas',
    default: DEFAULT_REPLICAS,
    min: 1,
    max: 100_000,
    unit: 'virtual nodes',
    description: 'points per member on the hash ring; must match on every relay and accumulator',
  }),
  propagationDelaySeconds: configKey.duration({
    key: 'ring.propagation_delay',
    default: '10s',
    readAs: 'seconds',
    description: 'a new ring version takes effect on the first step boundary after this',
  }),
  retainSeconds: configKey.duration({
    key: 'ring.retain',
    default: '1h',
    readAs: 'seconds',
    description:
      'superseded ring versions are kept this long, and at least the finest retention (the longest aggregator.max_lateness may be); relays find which accumulator holds an old window by them, so with whisper stores keep them as long as the longest retention',
  }),
  heartbeatIntervalMs: configKey.duration({
    key: 'ring.heartbeat_interval',
    default: '1s',
    readAs: 'milliseconds',
    min: '1ms',
    description: 'accumulators renew their Redis registration this often',
  }),
  heartbeatTtlMs: configKey.duration({
    key: 'ring.heartbeat_ttl',
    default: '5s',
    readAs: 'milliseconds',
    description: 'a registration not renewed this long expires; longer than ring.heartbeat_interval',
  }),
  pollIntervalMs: configKey.duration({
    key: 'ring.poll_interval',
    default: '5s',
    readAs: 'milliseconds',
    min: '1ms',
    description: 'membership is polled this often beside pub/sub',
  }),
  timeoutMs: configKey.duration({
    key: 'ring.timeout',
    default: '2s',
    readAs: 'milliseconds',
    min: '1ms',
    description: 'every Redis call has this timeout',
  }),
} as const;

/** `id=host:port` entries of `accumulators`; a duplicate id is an error naming its entry. */
export function parseStaticMembers(entries: readonly string[], key = RING_KEYS.staticMembers.key): RingMember[] {
  const seen = new Set<string>();
  return entries.map((entry, index) => {
    const itemKey = `${key}[${index}]`;
    const match = /^([^=\s]+)=([^\s:=]+):(\d{1,5})$/.exec(entry.trim());
    if (!match || Number(match[3]) < 1 || Number(match[3]) > 65535)
      throw new ConfigError(itemKey, `"${entry}" must be id=host:port`);
    const id = match[1]!;
    if (seen.has(id)) throw new ConfigError(itemKey, `duplicate accumulator id "${id}"`);
    seen.add(id);
    return { id, address: `${match[2]}:${match[3]}` };
  });
}

/**
 * The ring keys. `finestRetentionSeconds` (the finest resolution's retention, `times[0]`) is the longest
 * aggregator.max_lateness may be: superseded versions are kept at least that long, so a late point is placed by
 * the version in force for its window by every relay and accumulator alike (the same `times`, the same rule), and
 * no window gets two owners. A point older than every kept version falls to the oldest (RingSchedule.versionAt);
 * it is past max_lateness and refused anyway.
 */
export function readRingConfig(source: ConfigSource, finestRetentionSeconds = 0): RingConfig {
  const { staticMembers, ...values } = readSection(source, RING_KEYS);
  const config: RingConfig = {
    ...values,
    retainSeconds: Math.max(values.retainSeconds, finestRetentionSeconds),
    staticMembers: parseStaticMembers(staticMembers),
  };
  checkMembershipSource(config);
  checkPlacement(config);
  checkHeartbeat(config);
  checkRedisTls(config);
  return config;
}

/** TLS files must come in a usable set and be readable at start, not at the first reconnect. */
function checkRedisTls(config: RingConfig): void {
  const tlsOn = config.redisTls || config.redisUrl.startsWith('rediss://');
  const files: [string, string][] = [
    [RING_KEYS.redisTlsCa.key, config.redisTlsCa],
    [RING_KEYS.redisTlsCert.key, config.redisTlsCert],
    [RING_KEYS.redisTlsKey.key, config.redisTlsKey],
  ];
  for (const [key, path] of files) {
    if (path === '') continue;
    if (!tlsOn) throw new ConfigError(key, `is set but ${RING_KEYS.redisTls.key} is false`);
    readConfiguredFile(key, path);
  }
  if ((config.redisTlsCert === '') !== (config.redisTlsKey === ''))
    throw new ConfigError(RING_KEYS.redisTlsCert.key, `set with ${RING_KEYS.redisTlsKey.key}, or neither`);
}

/** Exactly one of Redis and the static list. */
function checkMembershipSource(config: RingConfig): void {
  const key = RING_KEYS.staticMembers.key;
  if (config.redisUrl === '' && config.staticMembers.length === 0)
    throw new ConfigError(key, `list at least one "id=host:port", or set ${RING_KEYS.redisUrl.key}`);
  if (config.redisUrl !== '' && config.staticMembers.length > 0)
    throw new ConfigError(key, `set either ${RING_KEYS.redisUrl.key} or ${key}, not both`);
}

/**
 * `statsd-proxy` needs the static list: the proxy has no membership, its nodes are a fixed list in a fixed order,
 * and the member ids must be its `host:port` node names.
 */
function checkPlacement(config: RingConfig): void {
  if (config.placement === 'statsd-proxy' && config.redisUrl !== '')
    throw new ConfigError(
      PLACEMENT_KEY,
      "statsd-proxy placement needs the static accumulators list (ids = the proxy's host:port nodes, in its order), not ring.redis_url",
    );
}

/** A registration must outlive a missed heartbeat, or members flap. */
function checkHeartbeat(config: RingConfig): void {
  if (config.heartbeatTtlMs <= config.heartbeatIntervalMs)
    throw new ConfigError(
      RING_KEYS.heartbeatTtlMs.key,
      `must be longer than ${RING_KEYS.heartbeatIntervalMs.key}, or members flap`,
    );
}
