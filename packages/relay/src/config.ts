/**
 * The relay's configuration, read through ConfigSource (TOML file, environment, `--set`); every error names
 * its key. Ring keys are read by the same code as the accumulator's (`readRingConfig`), so one file can serve both.
 */
import {
  configKey,
  configSchema,
  LOG_LEVEL_KEY,
  parseResolutions,
  TIMES_KEY,
  type ConfigSource,
  type ListenAddress,
  type LogLevel,
} from '@carillon/core';
import {
  GRAPHITE_LISTENER_KEYS,
  PICKLE_LISTENER_KEYS,
  readLineListenerConfig,
  readPickleListenerConfig,
  type PickleListenerConfig,
  STATSD_LISTENER_KEYS,
  type LineListenerConfig,
} from '@carillon/protocols';
import { RING_KEYS, readRingConfig, ringStepOf, type RingConfig } from '@carillon/ring';
import { LINK_KEYS, readLinkConfig, type AccumulatorLinkOptions } from '@carillon/transport';
import { SPOOL_KEYS, readSpoolConfig } from './spool/config.js';
import type { SpoolOptions } from './spool/spool.js';

export const RELAY_HTTP_LISTEN_KEY = configKey.listen({
  key: 'http.listen',
  default: ':8090',
  description: '/metrics, /healthz, /ring (versions, members, per-destination queues and connection state)',
});

/** Every key the relay reads. */
export const RELAY_SCHEMA = configSchema(
  [TIMES_KEY, LOG_LEVEL_KEY],
  GRAPHITE_LISTENER_KEYS,
  PICKLE_LISTENER_KEYS,
  STATSD_LISTENER_KEYS,
  RING_KEYS,
  LINK_KEYS,
  SPOOL_KEYS,
  [RELAY_HTTP_LISTEN_KEY],
);

export interface RelayConfig {
  logLevel: LogLevel;
  graphite: LineListenerConfig;
  /** carbon's pickle receiver; its points are routed as Graphite lines. */
  pickle: PickleListenerConfig;
  statsd: LineListenerConfig;
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
  http: { listen: ListenAddress | null };
}

export function readRelayConfig(source: ConfigSource): RelayConfig {
  const resolutions = parseResolutions(source.read(TIMES_KEY), TIMES_KEY.key);
  const graphite = readLineListenerConfig(source, GRAPHITE_LISTENER_KEYS);
  const statsd = readLineListenerConfig(source, STATSD_LISTENER_KEYS);
  const config: RelayConfig = {
    logLevel: source.read(LOG_LEVEL_KEY),
    graphite,
    pickle: readPickleListenerConfig(source),
    statsd,
    ring: readRingConfig(source, resolutions[0]!.ttl),
    ringStepSeconds: ringStepOf(resolutions),
    link: readLinkConfig(source, Math.max(graphite.maxLineLength, statsd.maxLineLength)),
    spool: readSpoolConfig(source),
    http: { listen: source.read(RELAY_HTTP_LISTEN_KEY) },
  };
  source.assertAllKeysKnown();
  return config;
}
