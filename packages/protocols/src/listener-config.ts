/**
 * The `[graphite]` / `[statsd]` listener keys every program with line listeners reads (the all-in-one and the
 * relay), and starting the TCP and UDP listeners they describe.
 */
import {
  configKey,
  formatDurationMs,
  readSection,
  type ConfigSource,
  type ListenAddress,
  type Logger,
} from '@carillon/core';
import { DEFAULT_MAX_LINE_LENGTH, type LineHandler } from './framing.js';
import {
  DEFAULT_IDLE_TIMEOUT_MS,
  DEFAULT_MAX_CONNECTIONS,
  listenTcp,
  listenUdp,
  type DatagramHandler,
  type Listener,
  type SharedListening,
} from './listeners.js';
import type { LineCounters } from './reasons.js';
import { readListenerTls, type ListenerTls } from './listener-tls.js';

export interface LineListenerConfig {
  tcp: ListenAddress | null;
  udp: ListenAddress | null;
  maxLineLength: number;
  maxConnections: number;
  idleTimeoutMs: number;
  udpReceiveBufferBytes: number | undefined;
  /** TLS of the TCP listener; plain when absent. */
  tls?: ListenerTls;
}

/** The TCP keys every receiver has: `<section>.max_connections` and `idle_timeout`. */
export function tcpConnectionKeys(section: string) {
  return {
    maxConnections: configKey.integer({
      key: `${section}.max_connections`,
      default: DEFAULT_MAX_CONNECTIONS,
      min: 1,
      unit: 'connections',
      description:
        'open TCP connections; at it a new one closes the longest idle (counted as evicted), or is refused when all are busy (counted)',
    }),
    idleTimeoutMs: configKey.duration({
      key: `${section}.idle_timeout`,
      default: formatDurationMs(DEFAULT_IDLE_TIMEOUT_MS),
      readAs: 'milliseconds',
      description: 'silent TCP connections are closed after this',
    }),
  } as const;
}

/** The keys of one protocol's listeners: `<section>.tcp_listen`, `udp_listen` (`""` disables), ... */
export function lineListenerKeys(section: 'graphite' | 'statsd', defaultPort: number) {
  const key = (name: string): string => `${section}.${name}`;
  return {
    tcp: configKey.listen({
      key: key('tcp_listen'),
      default: `:${defaultPort}`,
      description: `${section} over TCP: host:port, :port (IPv4 and IPv6), or "" to disable`,
    }),
    udp: configKey.listen({
      key: key('udp_listen'),
      default: `:${defaultPort}`,
      description: `${section} over UDP: host:port, :port (IPv4 and IPv6), or "" to disable`,
    }),
    maxLineLength: configKey.integer({
      key: key('max_line_length'),
      default: DEFAULT_MAX_LINE_LENGTH,
      min: 64,
      unit: 'bytes',
      description: 'longer lines are rejected as line_too_long',
    }),
    ...tcpConnectionKeys(section),
    udpReceiveBufferBytes: configKey.integer({
      key: key('udp_receive_buffer_bytes'),
      default: 0,
      min: 0,
      unit: 'bytes',
      description: 'SO_RCVBUF of the UDP socket; 0 keeps the OS default',
    }),
  } as const;
}

export const GRAPHITE_LISTENER_KEYS = lineListenerKeys('graphite', 2003);
export const STATSD_LISTENER_KEYS = lineListenerKeys('statsd', 8125);

export function readLineListenerConfig(
  source: ConfigSource,
  keys: ReturnType<typeof lineListenerKeys>,
): LineListenerConfig {
  const { udpReceiveBufferBytes, ...rest } = readSection(source, keys);
  const receiver = keys.tcp.key.startsWith('statsd.') ? 'statsd' : 'graphite';
  return {
    ...rest,
    udpReceiveBufferBytes: udpReceiveBufferBytes === 0 ? undefined : udpReceiveBufferBytes,
    tls: readListenerTls(source, receiver),
  };
}

export interface LineListeners {
  tcp?: Listener;
  udp?: Listener;
}

/** Starts the enabled TCP and UDP listeners of one protocol; every line goes to `onLine`. */
export async function startLineListeners(
  config: LineListenerConfig,
  lines: LineCounters,
  onLine: LineHandler,
  logger?: Logger,
  /** SO_REUSEPORT on both sockets and the consumer's hold on them (listeners.ts). */
  shared: SharedListening = {},
  /** Takes UDP datagrams whole instead of their lines going to `onLine` (listeners.ts `datagrams`). */
  datagrams?: DatagramHandler,
): Promise<LineListeners> {
  const { maxLineLength } = config;
  const tcp = config.tcp
    ? await listenTcp(
        {
          ...config.tcp,
          lines,
          maxLineLength,
          maxConnections: config.maxConnections,
          idleTimeoutMs: config.idleTimeoutMs,
          tls: config.tls,
          ...shared,
        },
        onLine,
      )
    : undefined;
  const udp = config.udp
    ? await listenUdp(
        {
          ...config.udp,
          lines,
          maxLineLength,
          receiveBufferSize: config.udpReceiveBufferBytes,
          ...shared,
          ...(datagrams === undefined ? {} : { datagrams }),
        },
        onLine,
      )
    : undefined;
  for (const [transport, listener] of [
    ['tcp', tcp],
    ['udp', udp],
  ] as const)
    if (listener)
      logger?.info(
        {
          protocol: lines.protocol,
          transport,
          host: listener.host,
          port: listener.port,
          tls: transport === 'tcp' && !!config.tls,
        },
        'listening',
      );
  return { tcp, udp };
}
