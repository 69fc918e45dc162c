/** The relay's `[spool]` keys: where the lines it reads are kept on disk until the accumulators hold them. */
import { ConfigError, configKey, readSection, type ConfigSource } from '@carillon/core';
import type { SpoolOptions } from './spool.js';

export const SPOOL_KEYS = {
  dir: configKey.string({
    key: 'spool.dir',
    default: '',
    description:
      'directory of the spool: every line read is written here before it is sent, and what was not acked durable is sent again after a restart; "" for none (a relay crash then loses every line not yet durable)',
  }),
  segmentBytes: configKey.integer({
    key: 'spool.segment_bytes',
    default: 64 << 20,
    min: 4096,
    unit: 'bytes',
    description:
      'a spool segment is closed and a new one begun past this size; a segment is deleted once all its lines are durable',
  }),
  maxBytes: configKey.integer({
    key: 'spool.max_bytes',
    default: 1 << 30,
    min: 8192,
    unit: 'bytes',
    description:
      'bound on the spool (at least two segments); past it the oldest segments are dropped (relay_spool_dropped_bytes_total), and a relay crash then loses what they held that was not durable',
  }),
  syncIntervalMs: configKey.duration({
    key: 'spool.sync_interval',
    default: '1s',
    readAs: 'milliseconds',
    description:
      'fdatasync period of the spool; a relay kill -9 loses nothing it wrote, a power failure at most this much ("0s": never)',
  }),
} as const;

export function readSpoolConfig(source: ConfigSource): SpoolOptions {
  const spool = readSection(source, SPOOL_KEYS);
  if (spool.maxBytes < 2 * spool.segmentBytes)
    throw new ConfigError(
      SPOOL_KEYS.maxBytes.key,
      `${spool.maxBytes} must hold at least two segments of ${SPOOL_KEYS.segmentBytes.key} (${spool.segmentBytes})`,
    );
  return spool;
}
