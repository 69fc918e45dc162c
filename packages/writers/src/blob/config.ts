/**
 * The blob keys of `[cassandra]`:
 *   schema = ["both", "blob", "blob"]      # per entry of `times`: flat rows, chunks, or both; one entry = every one
 *   chunk_spans = ["1h", "6h", "60h"]      # per entry of `times`, each a multiple of its step (default 360 steps)
 *   chunk_persist_interval = "60s"         # open chunks that changed are written this often
 *   chunk_max_bytes = 16384                # an open chunk this large is written and continued in a new row
 *   chunk_cache_max_bytes = 268435456      # open chunk bytes per write pool worker; past it the oldest are evicted
 *   chunk_known_series = 1000000           # series a worker remembers having looked up since it started
 * Errors name the key (and the list entry).
 */
import { ConfigError, configKey, parseDuration, type ConfigSource, type Resolution } from '@carillon/core';
import {
  checkBlobLayout,
  DEFAULT_BLOB_OPTIONS,
  defaultChunkSpan,
  writesBlob,
  type ResolutionSchema,
} from './options.js';
import type { BlobStoreOptions } from './store.js';

export const BLOB_KEYS = {
  schema: configKey.stringList({
    key: 'cassandra.schema',
    default: ['flat'],
    description: 'per entry of times: flat rows, blob chunks or both; one entry applies to every one',
  }),
  chunkSpans: configKey.stringList({
    key: 'cassandra.chunk_spans',
    default: [],
    description: 'blob: chunk span per entry of times, each a multiple of its step; [] means 360 steps each',
  }),
  chunkPersistInterval: configKey.duration({
    key: 'cassandra.chunk_persist_interval',
    default: '60s',
    readAs: 'seconds',
    min: '1s',
    description: 'blob: open chunks that changed are rewritten this often (a crash loses at most this)',
  }),
  chunkMaxBytes: configKey.integer({
    key: 'cassandra.chunk_max_bytes',
    default: DEFAULT_BLOB_OPTIONS.maxChunkBytes,
    min: 64,
    unit: 'bytes',
    description: 'blob: an open chunk this large is written and continued in a new row',
  }),
  chunkCacheMaxBytes: configKey.integer({
    key: 'cassandra.chunk_cache_max_bytes',
    default: DEFAULT_BLOB_OPTIONS.maxCacheBytes,
    min: 1024,
    unit: 'bytes',
    description: 'blob: open chunk bytes per write pool worker; past it the oldest are evicted',
  }),
  chunkKnownSeries: configKey.integer({
    key: 'cassandra.chunk_known_series',
    default: DEFAULT_BLOB_OPTIONS.maxKnownSeries,
    min: 1,
    unit: 'series',
    description: 'blob: series a worker remembers having looked up since it started',
  }),
} as const;

export function readBlobConfig(source: ConfigSource, resolutions: readonly Resolution[]): BlobStoreOptions {
  let schemas = source.read(BLOB_KEYS.schema);
  if (schemas.length === 1) schemas = resolutions.map(() => schemas[0]!);
  const spanTexts = source.read(BLOB_KEYS.chunkSpans);
  const chunkSpans =
    spanTexts.length === 0
      ? resolutions.map(defaultChunkSpan)
      : spanTexts.map((text, i) => parseDuration(text, `${BLOB_KEYS.chunkSpans.key}[${i}]`));
  const problem = checkBlobLayout(resolutions, schemas, chunkSpans);
  if (problem)
    throw new ConfigError(
      problem.index < 0 ? `cassandra.${problem.entry}` : `cassandra.${problem.entry}[${problem.index}]`,
      problem.message,
    );
  return {
    schemas: schemas as ResolutionSchema[],
    chunkSpans,
    persistIntervalMs: source.read(BLOB_KEYS.chunkPersistInterval) * 1000,
    maxChunkBytes: source.read(BLOB_KEYS.chunkMaxBytes),
    maxCacheBytes: source.read(BLOB_KEYS.chunkCacheMaxBytes),
    maxKnownSeries: source.read(BLOB_KEYS.chunkKnownSeries),
    openChunkTimeoutMs: DEFAULT_BLOB_OPTIONS.openChunkTimeoutMs,
    statsIntervalMs: DEFAULT_BLOB_OPTIONS.statsIntervalMs,
  };
}

/** True when some resolution writes chunks: the store then runs the blob writer. */
export function usesBlobs(blob: BlobStoreOptions): boolean {
  return blob.schemas.some(writesBlob);
}
