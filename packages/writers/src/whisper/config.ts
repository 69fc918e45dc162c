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
    unit: 'files',
    description: 'open-file LRU; evictions are counted',
  }),
  concurrency: configKey.integer({
    key: 'whisper.concurrency',
    default: 16,
    min: 1,
    max: 1024,
    unit: 'operations',
    description: 'file operations in flight',
  }),
} as const;

export interface WhisperConfig {
  dataDir: string;
  maxOpenFiles: number;
  concurrency: number;
}

export function readWhisperConfig(source: ConfigSource): WhisperConfig {
  const config = readSection(source, WHISPER_KEYS);
  if (config.dataDir.trim() === '') throw new ConfigError(WHISPER_KEYS.dataDir.key, 'must not be empty');
  return config;
}
