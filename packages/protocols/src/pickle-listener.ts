/**
 * The `[pickle]` receiver (carbon's port 2004) for every program with listeners: its keys, and the TCP listener
 * whose connections are framed by PickleFramer. Each point reaches `onLine` as a Graphite plaintext line, so the
 * caller passes its Graphite line handler; a refused frame counts once as a `pickle` line rejected as
 * invalid_pickle, and by its detailed reason in pickle_frames_rejected_total.
 */
import {
  configKey,
  readSection,
  type ConfigSource,
  type CounterChild,
  type ListenAddress,
  type Logger,
} from '@carillon/core';
import type { LineHandler } from './lines.js';
import { tcpConnectionKeys } from './listener-config.js';
import { listenTcp, type Listener, type SharedListening } from './listeners.js';
import {
  DEFAULT_PICKLE_LIMITS,
  PICKLE_FRAME_REJECT_REASONS,
  PickleFramer,
  type PickleFrameRejectReason,
} from './pickle-framing.js';
import { LineCounters } from './reasons.js';
import { readListenerTls, type ListenerTls } from './listener-tls.js';

export interface PickleListenerConfig {
  tcp: ListenAddress | null;
  maxFrameBytes: number;
  maxItems: number;
  maxConnections: number;
  idleTimeoutMs: number;
  tls?: ListenerTls;
}

export const PICKLE_LISTENER_KEYS = {
  tcp: configKey.listen({
    key: 'pickle.tcp_listen',
    default: ':2004',
    description: 'carbon\'s pickle protocol over TCP: host:port, :port (IPv4 and IPv6), or "" to disable',
  }),
  maxFrameBytes: configKey.integer({
    key: 'pickle.max_frame_bytes',
    default: DEFAULT_PICKLE_LIMITS.maxFrameBytes,
    min: 64,
    max: 256 << 20,
    unit: 'bytes',
    description: 'longer frames are skipped unread and refused (counted)',
  }),
  maxItems: configKey.integer({
    key: 'pickle.max_items',
    default: DEFAULT_PICKLE_LIMITS.maxItems,
    min: 1,
    unit: 'items',
    description: 'list and tuple elements one frame may hold; more refuse the frame (counted)',
  }),
  ...tcpConnectionKeys('pickle'),
} as const;

export function readPickleListenerConfig(source: ConfigSource): PickleListenerConfig {
  return { ...readSection(source, PICKLE_LISTENER_KEYS), tls: readListenerTls(source, 'pickle') };
}

/** Starts the pickle listener, or nothing when `pickle.tcp_listen` is "". */
export async function startPickleListener(
  config: PickleListenerConfig,
  lines: LineCounters,
  onGraphiteLine: LineHandler,
  logger?: Logger,
  /** SO_REUSEPORT and the consumer's hold (listeners.ts). */
  shared: SharedListening = {},
): Promise<Listener | undefined> {
  if (!config.tcp) return undefined;
  const frames = lines.registry.counter('pickle_frames_rejected_total', 'Pickle frames refused whole, by reason', [
    'reason',
  ]);
  const byReason = Object.fromEntries(PICKLE_FRAME_REJECT_REASONS.map((r) => [r, frames.labels(r)])) as Record<
    PickleFrameRejectReason,
    CounterChild
  >;
  const reject = (reason: PickleFrameRejectReason): void => {
    byReason[reason].value++;
    lines.reject('invalid_pickle');
  };
  const limits = { maxFrameBytes: config.maxFrameBytes, maxItems: config.maxItems };
  const listener = await listenTcp(
    {
      ...config.tcp,
      lines,
      maxConnections: config.maxConnections,
      idleTimeoutMs: config.idleTimeoutMs,
      framer: (onLine) => new PickleFramer(limits, onLine, reject),
      tls: config.tls,
      ...shared,
    },
    onGraphiteLine,
  );
  logger?.info({ protocol: 'pickle', transport: 'tcp', host: listener.host, port: listener.port }, 'listening');
  return listener;
}
