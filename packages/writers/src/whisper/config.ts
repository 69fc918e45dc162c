/** The `[whisper]` keys of `store = "whisper"`. */
import { ConfigError, configKey, readSection, type ConfigSource } from '@carillon/core';

export const WHISPER_KEYS = {
  dataDir: configKey.string({
    key: 'whisper.data_dir',
    default: './data',
    description: "Graphite's directory layout, tagged series under _tagged/",
  }),
  maxOpenFiles: configKey.integer({
    key: 'whisper.max_open_files',
    default: 1024,
    min: 1,
    unit: 'series',
    description:
      "series whose files stay open (an LRU; evictions are counted), on the write thread and again for the API's reads; an average or last series' .stats sidecar stays open with its .wsp on the write thread, so up to three times this many descriptors: keep the process's limit (ulimit -n) above that",
  }),
  concurrency: configKey.integer({
    key: 'whisper.concurrency',
    default: 16,
    min: 1,
    max: 1024,
    unit: 'operations',
    description:
      "file operations in flight: the API's reads on the ingest thread, and the write thread's tasks (whose calls are synchronous, one at a time)",
  }),
  // Default: writers.max_in_flight_points plus writers.max_retry_points (2 M each), so with the writer defaults the
  // sink's overload check stops the flow first and this only refuses when those are raised.
  maxQueuedPoints: configKey.integer({
    key: 'whisper.max_queued_points',
    default: 4_000_000,
    min: 1,
    unit: 'points',
    description:
      'write-back queue while the disk is behind (one update per file for all waiting batches); past it a batch goes back to the writer retry queue, counted',
  }),
  // Our files are sparse: a creation costs an fsync and a directory entry, not carbon's preallocated megabytes (its
  // 50/min default is for that). 500/s creates 100k new series in 200 s, while the points waiting meanwhile stay
  // within writers.max_retry_points (about 10 windows of half of them at the worst moment).
  maxCreatesPerSecond: configKey.integer({
    key: 'whisper.max_creates_per_second',
    default: 500,
    min: 0,
    unit: 'files',
    description:
      "files created per second at most (carbon's MAX_CREATES_PER_MINUTE); past it a series keeps its points for a retry, counted; 0: no limit",
  }),
} as const;

export interface WhisperConfig {
  dataDir: string;
  maxOpenFiles: number;
  concurrency: number;
  maxQueuedPoints: number;
  maxCreatesPerSecond: number;
}

export function readWhisperConfig(source: ConfigSource): WhisperConfig {
  const config = readSection(source, WHISPER_KEYS);
  if (config.dataDir.trim() === '') throw new ConfigError(WHISPER_KEYS.dataDir.key, 'must not be empty');
  return config;
}
