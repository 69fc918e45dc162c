/** The all-in-one's configuration: a node (node-config.ts) plus its own Graphite, pickle and StatsD listeners. */
import { configSchema, LOG_LEVEL_KEY, TIMES_KEY, type ConfigSource } from '@carillon/core';
import {
  GRAPHITE_LISTENER_KEYS,
  LISTENER_TLS_SCHEMA,
  PICKLE_LISTENER_KEYS,
  readLineListenerConfig,
  readPickleListenerConfig,
  STATSD_LISTENER_KEYS,
  type LineListenerConfig,
  type PickleListenerConfig,
} from '@carillon/protocols';
import { NODE_KEYS, NODE_SCHEMA, readNodeConfig, type NodeConfig } from './node-config.js';

export interface AllInOneConfig {
  node: NodeConfig;
  graphite: LineListenerConfig;
  /** carbon's pickle receiver; its points are ingested as Graphite lines. */
  pickle: PickleListenerConfig;
  statsd: LineListenerConfig;
}

/** Every key the all-in-one reads: the example file and the README table are rendered from it. */
export const ALLINONE_SCHEMA = configSchema(
  [TIMES_KEY, NODE_KEYS.store, LOG_LEVEL_KEY],
  GRAPHITE_LISTENER_KEYS,
  PICKLE_LISTENER_KEYS,
  STATSD_LISTENER_KEYS,
  LISTENER_TLS_SCHEMA,
  NODE_SCHEMA,
);

export function readAllInOneConfig(source: ConfigSource): AllInOneConfig {
  const config = {
    node: readNodeConfig(source),
    graphite: readLineListenerConfig(source, GRAPHITE_LISTENER_KEYS),
    pickle: readPickleListenerConfig(source),
    statsd: readLineListenerConfig(source, STATSD_LISTENER_KEYS),
  };
  source.assertAllKeysKnown();
  return config;
}
