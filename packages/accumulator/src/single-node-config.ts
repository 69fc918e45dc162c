/** The all-in-one's configuration: a node (node-config.ts) plus its own Graphite, pickle and StatsD listeners. */
import { availableParallelism } from 'node:os';
import {
  configKey,
  configSchema,
  LOG_LEVEL_KEY,
  TIMES_KEY,
  type ConfigInputs,
  type ConfigSource,
} from '@carillon/core';
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

/** `[listeners]`: where the Graphite, pickle and StatsD listeners run (listener-threads.ts). */
export const LISTENER_THREAD_KEYS = {
  threads: configKey.integer({
    key: 'listeners.threads',
    default: 1,
    computedDefault: 'the cores but two (os.availableParallelism() - 2: the main thread and the store write thread)',
    min: 0,
    max: 256,
    unit: 'threads',
    description:
      'listener threads: each binds every listener port (SO_REUSEPORT: the kernel spreads connections and datagrams), frames the lines, applies the carbon.* name rules and reads Graphite lines ahead, and hands them to the main thread, which logs and aggregates them; 0 = the listeners on the main thread',
  }),
  maxQueuedBytes: configKey.integer({
    key: 'listeners.max_queued_bytes',
    default: 32 << 20,
    min: 64 << 10,
    unit: 'bytes',
    description:
      "bound on a listener thread's lines (and their rows read ahead) handed to the main thread and not yet aggregated: past it the thread's TCP connections stop reading until half is taken, and its UDP datagrams' lines are refused (queue_full)",
  }),
} as const;

export interface AllInOneConfig {
  /** What the config was read from: a listener thread reads it again (listener-thread.ts). */
  inputs: ConfigInputs;
  node: NodeConfig;
  graphite: LineListenerConfig;
  /** carbon's pickle receiver; its points are ingested as Graphite lines. */
  pickle: PickleListenerConfig;
  statsd: LineListenerConfig;
  /** carbon's black/white lists and rewrite rules, on Graphite and pickle lines before they are ingested. */
  keyRules: KeyRules;
  listeners: { threads: number; maxQueuedBytes: number };
}

/** Every key the all-in-one reads: the example file and the README table are rendered from it. */
export const ALLINONE_SCHEMA = configSchema(
  [TIMES_KEY, NODE_KEYS.store, LOG_LEVEL_KEY],
  GRAPHITE_LISTENER_KEYS,
  PICKLE_LISTENER_KEYS,
  STATSD_LISTENER_KEYS,
  KEY_RULES_KEYS,
  LISTENER_TLS_SCHEMA,
  LISTENER_THREAD_KEYS,
  NODE_SCHEMA,
);

export function readAllInOneConfig(source: ConfigSource): AllInOneConfig {
  const node = readNodeConfig(source);
  const config = {
    inputs: source.inputs(),
    node,
    graphite: readLineListenerConfig(source, GRAPHITE_LISTENER_KEYS),
    pickle: readPickleListenerConfig(source),
    statsd: readLineListenerConfig(source, STATSD_LISTENER_KEYS),
    keyRules: readKeyRules(
      source,
      node.aggregator.resolutions.map((r) => r.step),
    ),
    listeners: {
      // A core each for the main thread (aggregation, log, HTTP) and the store's write thread; the rest listen.
      // On two cores a thread costs more CPU per line than it saves the main thread (docs/BENCHMARKS.md).
      threads: source.read(LISTENER_THREAD_KEYS.threads, Math.max(0, availableParallelism() - 2)),
      maxQueuedBytes: source.read(LISTENER_THREAD_KEYS.maxQueuedBytes),
    },
  };
  source.assertAllKeysKnown();
  return config;
}
