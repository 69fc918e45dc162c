/** Opening the configured store: the embedded whisper files (default) or memory. */
import type { Logger, MetricsRegistry, SeriesReader, Writer } from '@carillon/core';
import { MemoryStore, type SeriesIndex } from '@carillon/query';
import { WhisperStore } from '@carillon/writers';
import type { NodeConfig } from './node-config.js';

export type Store = Writer & SeriesReader;

export async function openStore(
  config: NodeConfig,
  registry: MetricsRegistry,
  logger: Logger,
  index: SeriesIndex,
): Promise<Store> {
  if (config.store === 'memory') {
    return new MemoryStore({
      maxPoints: config.memory.maxPoints,
      aggregationRules: config.aggregationRules,
      metrics: registry,
    });
  }
  const store = new WhisperStore(
    {
      dataDir: config.whisper.dataDir,
      resolutions: config.aggregator.resolutions,
      aggregationRules: config.aggregationRules,
      maxOpenFiles: config.whisper.maxOpenFiles,
      concurrency: config.whisper.concurrency,
    },
    { metrics: registry, logger },
  );
  // The index lives in memory: rebuild it from the files so series written before a restart can be found.
  const names = await store.listSeries();
  for (const name of names) index.add(name);
  logger.info({ dataDir: config.whisper.dataDir, series: names.length }, 'whisper store opened');
  return store;
}
