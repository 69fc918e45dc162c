/**
 * The relay's `[link]` keys: how batches are cut and sent to each accumulator, how many unacked bytes a
 * destination may hold, and reconnect and keepalive timing.
 */
import { ConfigError, configKey, formatDurationMs, readSection, type ConfigSource } from '@carillon/core';
import { DEFAULT_LINK_OPTIONS, type AccumulatorLinkOptions } from './accumulator-link.js';

const d = DEFAULT_LINK_OPTIONS;

export const LINK_KEYS = {
  maxBatchBytes: configKey.integer({
    key: 'link.max_batch_bytes',
    default: d.maxBatchBytes,
    min: 1024,
    max: 64 << 20,
    unit: 'bytes',
    description: 'a batch is sent when it reaches this size or link.max_batch_delay',
  }),
  maxBatchDelayMs: configKey.duration({
    key: 'link.max_batch_delay',
    default: formatDurationMs(d.maxBatchDelayMs),
    readAs: 'milliseconds',
    min: '1ms',
    max: '60s',
    description: 'a batch is sent at the latest this long after its first line',
  }),
  maxUnackedBytes: configKey.integer({
    key: 'link.max_unacked_bytes',
    default: d.maxUnackedBytes,
    min: 1024,
    unit: 'bytes',
    description: 'per destination, batches not yet durable; past it the oldest are dropped, counted',
  }),
  connectTimeoutMs: configKey.duration({
    key: 'link.connect_timeout',
    default: formatDurationMs(d.connectTimeoutMs),
    readAs: 'milliseconds',
    description: 'connecting to an accumulator',
  }),
  backoffInitialMs: configKey.duration({
    key: 'link.backoff_initial',
    default: formatDurationMs(d.backoffInitialMs),
    readAs: 'milliseconds',
    min: '1ms',
    description: 'first reconnect delay: capped, jittered exponential backoff',
  }),
  backoffMaxMs: configKey.duration({
    key: 'link.backoff_max',
    default: formatDurationMs(d.backoffMaxMs),
    readAs: 'milliseconds',
    description: 'longest reconnect delay',
  }),
  keepaliveTimeMs: configKey.duration({
    key: 'link.keepalive_time',
    default: formatDurationMs(d.keepaliveTimeMs),
    readAs: 'milliseconds',
    description: 'gRPC keepalive ping interval on every stream',
  }),
  keepaliveTimeoutMs: configKey.duration({
    key: 'link.keepalive_timeout',
    default: formatDurationMs(d.keepaliveTimeoutMs),
    readAs: 'milliseconds',
    description: 'a keepalive ping unanswered this long closes the connection',
  }),
  closeTimeoutMs: configKey.duration({
    key: 'link.close_timeout',
    default: formatDurationMs(d.closeTimeoutMs),
    readAs: 'milliseconds',
    description: 'on SIGTERM, how long to wait for durable acks',
  }),
} as const;

/** Reads `[link]`; a batch must hold the longest line the listeners accept. */
export function readLinkConfig(source: ConfigSource, maxLineLength: number): AccumulatorLinkOptions {
  const link = readSection(source, LINK_KEYS);
  checkLinkSizes(link.maxBatchBytes, link.maxUnackedBytes, maxLineLength);
  checkLinkBackoff(link.backoffInitialMs, link.backoffMaxMs);
  // Whole seconds: the accumulator takes a batch's "now" as floor(received_at_ms / 1000).
  return { ...link, batchTimeQuantumMs: 1000 };
}

function checkLinkSizes(maxBatchBytes: number, maxUnackedBytes: number, maxLineLength: number): void {
  if (maxBatchBytes <= maxLineLength)
    throw new ConfigError(
      LINK_KEYS.maxBatchBytes.key,
      `must be larger than the longest accepted line (${maxLineLength} bytes), got ${maxBatchBytes}`,
    );
  if (maxUnackedBytes < 2 * maxBatchBytes)
    throw new ConfigError(
      LINK_KEYS.maxUnackedBytes.key,
      `must be at least twice ${LINK_KEYS.maxBatchBytes.key} (${maxBatchBytes})`,
    );
}

function checkLinkBackoff(backoffInitialMs: number, backoffMaxMs: number): void {
  if (backoffMaxMs < backoffInitialMs)
    throw new ConfigError(
      LINK_KEYS.backoffMaxMs.key,
      `must not be shorter than ${LINK_KEYS.backoffInitialMs.key} (${formatDurationMs(backoffInitialMs)})`,
    );
}
