/**
 * The `[graphite]` / `[statsd]` listener keys every program with line listeners reads (the all-in-one and the
 * relay), and starting the TCP and UDP listeners they describe.
 */
import { parseListenAddress, type ConfigSource, type ListenAddress, type Logger } from '@carillon/core';
import { DEFAULT_MAX_LINE_LENGTH, type LineHandler } from './framing.js';
import { DEFAULT_IDLE_TIMEOUT_MS, DEFAULT_MAX_CONNECTIONS, listenTcp, listenUdp, type Listener } from './listeners.js';
import type { LineCounters } from './reasons.js';

export interface LineListenerConfig {
  tcp: ListenAddress | null;
  udp: ListenAddress | null;
  maxLineLength: number;
  maxConnections: number;
  idleTimeoutMs: number;
  udpReceiveBufferBytes: number | undefined;
}

/** `<section>.tcp_listen`, `udp_listen` (`""` disables), `max_line_length`, `max_connections`, `idle_timeout`, ... */
export function readLineListenerConfig(
  source: ConfigSource,
  section: 'graphite' | 'statsd',
  defaultPort: number,
): LineListenerConfig {
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
        },
        onLine,
      )
    : undefined;
  const udp = config.udp
    ? await listenUdp({ ...config.udp, lines, maxLineLength, receiveBufferSize: config.udpReceiveBufferBytes }, onLine)
    : undefined;
  for (const [transport, listener] of [
    ['tcp', tcp],
    ['udp', udp],
  ] as const)
    if (listener)
      logger?.info({ protocol: lines.protocol, transport, host: listener.host, port: listener.port }, 'listening');
  return { tcp, udp };
}
