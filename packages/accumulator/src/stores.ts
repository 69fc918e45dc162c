/** Opening the configured store: the embedded whisper files (default), memory, or Cassandra through the write pool. */
import type { Logger, MetricsRegistry, SeriesReader, WorkerReaderSpec, Writer } from '@carillon/core';
import { compilePathGlob, MemoryStore, QueryError, type SeriesFinder, type SeriesIndex } from '@carillon/query';
import { CassandraBlobStore, CassandraStore, ThreadedWhisperStore, usesBlobs } from '@carillon/writers';
import type { NodeConfig } from './node-config.js';

/**
 * A store: written by the writer sink, read by the Graphite API. `overloaded()` (a write pool's queue above its
 * high-water mark) makes the aggregator skip flushes; `finder` answers find and tag queries from the store's own
 * index (beside the in-memory one, which holds the series seen before their first flush).
 */
export type Store = Writer &
  SeriesReader & {
    overloaded?(): boolean;
    finder?: SeriesFinder;
    /** False for a name the store cannot keep (whisper: too long for a file); ingest refuses it. */
    storable?(name: string): boolean;
    /** How a render worker reads the store itself, off the ingest thread (whisper). */
    workerReader?(): WorkerReaderSpec;
    /** Liveness of the store's own machinery (the write pool's workers). */
    notLive?(): string | undefined;
  };

async function openCassandra(config: NodeConfig, registry: MetricsRegistry, logger: Logger): Promise<Store> {
  const c = config.cassandra;
  const options = {
    contactPoints: c.contactPoints,
    localDataCenter: c.localDataCenter,
    keyspace: c.keyspace,
    replication: c.replication,
    resolutions: config.aggregator.resolutions,
    connectTimeoutMs: c.connectTimeoutMs,
    readTimeoutMs: c.readTimeoutMs,
    maxInFlight: c.maxInFlight,
    retry: { maxRetries: c.retries, baseDelayMs: c.retryDelayMs, maxDelayMs: c.retryMaxDelayMs },
    indexCacheSize: c.indexCacheSize,
    ...(c.username === '' ? {} : { credentials: { username: c.username, password: c.password } }),
    ...(c.tls ? { tls: { ca: c.tlsCa, cert: c.tlsCert, key: c.tlsKey } } : {}),
  };
  const pool = {
    workers: c.workers,
    highWaterPoints: c.queueHighWaterPoints,
    maxQueuePoints: c.maxQueuePoints,
    statsIntervalMs: 1_000,
    restartDelayMs: 1_000,
    closeTimeoutMs: 30_000,
  };
  const deps = {
    metrics: registry,
    logger,
    aggregationRules: config.aggregationRules,
    retentionRules: config.retentionRules,
    finder: { compilePathGlob, tooLarge: (message: string) => new QueryError(message) },
  };
  // Chunks in any resolution: the blob writer (which writes the flat rows too where configured).
  return usesBlobs(config.cassandraBlob)
    ? CassandraBlobStore.open(options, config.cassandraBlob, pool, deps)
    : CassandraStore.open(options, pool, deps);
}

export async function openStore(
  config: NodeConfig,
  registry: MetricsRegistry,
  logger: Logger,
  index: SeriesIndex,
): Promise<Store> {
  if (config.store === 'cassandra') return openCassandra(config, registry, logger);
  if (config.store === 'memory') {
    return new MemoryStore({
      maxPoints: config.memory.maxPoints,
      aggregationRules: config.aggregationRules,
      metrics: registry,
    });
  }
  // Written on a thread of its own (write-thread.ts); read here and in the render workers.
  const store = new ThreadedWhisperStore(
    {
      dataDir: config.whisper.dataDir,
      resolutions: config.aggregator.resolutions,
      aggregationRules: config.aggregationRules,
      retentionRules: config.retentionRules,
      maxOpenFiles: config.whisper.maxOpenFiles,
      concurrency: config.whisper.concurrency,
      maxQueuedPoints: config.whisper.maxQueuedPoints,
      maxCreatesPerSecond: config.whisper.maxCreatesPerSecond,
      maxLatenessSeconds: config.aggregator.maxLatenessSeconds,
    },
    { metrics: registry, logger },
  );
  // The index lives in memory: rebuild it from the files so series written before a restart can be found.
  const names = await store.listSeries();
  for (const name of names) index.add(name);
  logger.info({ dataDir: config.whisper.dataDir, series: names.length }, 'whisper store opened');
  return store;
}
