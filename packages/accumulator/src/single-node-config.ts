/** The all-in-one's configuration: a node (node-config.ts) plus its own Graphite and StatsD listeners. */
import type { ConfigSource } from '@carillon/core';
import { readLineListenerConfig, type LineListenerConfig } from '@carillon/protocols';
import { checkNodeConfig, readNodeConfig, type NodeConfig } from './node-config.js';

export interface AllInOneConfig {
  node: NodeConfig;
  graphite: LineListenerConfig;
  statsd: LineListenerConfig;
}

export function readAllInOneConfig(source: ConfigSource): AllInOneConfig {
  const config = {
    node: readNodeConfig(source),
    graphite: readLineListenerConfig(source, 'graphite', 2003),
    statsd: readLineListenerConfig(source, 'statsd', 8125),
  };
  checkNodeConfig(config.node);
  source.assertAllKeysKnown();
  return config;
}
