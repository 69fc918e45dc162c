/** The all-in-one's configuration: a node (see @carillon/accumulator) plus its own Graphite and StatsD listeners. */
import { parseListenAddress, type ConfigSource, type ListenAddress } from '@carillon/core';
import { DEFAULT_IDLE_TIMEOUT_MS, DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_LINE_LENGTH } from '@carillon/protocols';
import { checkNodeConfig, readNodeConfig, type NodeConfig } from '@carillon/accumulator';

export interface ListenerConfig {
  tcp: ListenAddress | null;
  udp: ListenAddress | null;
  maxLineLength: number;
  maxConnections: number;
  idleTimeoutMs: number;
  udpReceiveBufferBytes: number | undefined;
}

export interface AllInOneConfig {
  node: NodeConfig;
  graphite: ListenerConfig;
  statsd: ListenerConfig;
}

function readListeners(source: ConfigSource, section: 'graphite' | 'statsd', defaultPort: number): ListenerConfig {
  const key = (name: string): string => `${section}.${name}`;
  const receiveBuffer = source.integer(key('udp_receive_buffer_bytes'), 0, { min: 0 });
  return {
    tcp: parseListenAddress(source.string(key('tcp_listen'), `:${defaultPort}`), key('tcp_listen')),
    udp: parseListenAddress(source.string(key('udp_listen'), `:${defaultPort}`), key('udp_listen')),
    maxLineLength: source.integer(key('max_line_length'), DEFAULT_MAX_LINE_LENGTH, { min: 64 }),
    maxConnections: source.integer(key('max_connections'), DEFAULT_MAX_CONNECTIONS, { min: 1 }),
    idleTimeoutMs: 1000 * source.duration(key('idle_timeout'), `${DEFAULT_IDLE_TIMEOUT_MS / 1000}s`),
    udpReceiveBufferBytes: receiveBuffer === 0 ? undefined : receiveBuffer,
  };
}

export function readAllInOneConfig(source: ConfigSource): AllInOneConfig {
  const config = {
    node: readNodeConfig(source),
    graphite: readListeners(source, 'graphite', 2003),
    statsd: readListeners(source, 'statsd', 8125),
  };
  checkNodeConfig(config.node);
  source.assertAllKeysKnown();
  return config;
}
