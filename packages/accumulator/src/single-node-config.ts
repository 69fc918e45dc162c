/** The all-in-one's configuration: a node (node-config.ts) plus its own Graphite, pickle and StatsD listeners. */
import { configSchema, LOG_LEVEL_KEY, TIMES_KEY, type ConfigSource } from '@carillon/core';
import {
  GRAPHITE_LISTENER_KEYS,
  KEY_RULES_KEYS,
  LISTENER_TLS_SCHEMA,
  PICKLE_LISTENER_KEYS,
  readKeyRules,
  readLineListenerConfig,
  readPickleListenerConfig,
  STATSD_LISTENER_KEYS,
  type KeyRules,
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
  /** carbon's black/white lists and rewrite rules, on Graphite and pickle lines before they are ingested. */
  keyRules: KeyRules;
}

/** Every key the all-in-one reads: the example file and the README table are rendered from it. */
export const ALLINONE_SCHEMA = configSchema(
  [TIMES_KEY, NODE_KEYS.store, LOG_LEVEL_KEY],
  GRAPHITE_LISTENER_KEYS,
  PICKLE_LISTENER_KEYS,
  STATSD_LISTENER_KEYS,
  KEY_RULES_KEYS,
  LISTENER_TLS_SCHEMA,
  NODE_SCHEMA,
);

export function readAllInOneConfig(source: ConfigSource): AllInOneConfig {
  const node = readNodeConfig(source);
  const config = {
    node,
    graphite: readLineListenerConfig(source, GRAPHITE_LISTENER_KEYS),
    pickle: readPickleListenerConfig(source),
    statsd: readLineListenerConfig(source, STATSD_LISTENER_KEYS),
    keyRules: readKeyRules(
      source,
      node.aggregator.resolutions.map((r) => r.step),
    ),
  };
  source.assertAllKeysKnown();
  return config;
}
