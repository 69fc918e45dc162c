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
import { ConfigError, parseDuration, type ConfigSource, type Resolution } from '@carillon/core';
import {
  checkBlobLayout,
  DEFAULT_BLOB_OPTIONS,
  defaultChunkSpan,
  writesBlob,
  type ResolutionSchema,
} from './options.js';
import type { BlobStoreOptions } from './store.js';

export function readBlobConfig(source: ConfigSource, resolutions: readonly Resolution[]): BlobStoreOptions {
  let schemas = source.stringList('cassandra.schema', ['flat']);
  if (schemas.length === 1) schemas = resolutions.map(() => schemas[0]!);
  const spanTexts = source.stringList('cassandra.chunk_spans', []);
  const chunkSpans =
    spanTexts.length === 0
      ? resolutions.map(defaultChunkSpan)
      : spanTexts.map((text, i) => parseDuration(text, `cassandra.chunk_spans[${i}]`));
  const problem = checkBlobLayout(resolutions, schemas, chunkSpans);
  if (problem)
    throw new ConfigError(
      problem.index < 0 ? `cassandra.${problem.entry}` : `cassandra.${problem.entry}[${problem.index}]`,
      problem.message,
    );
  const persistSeconds = source.duration('cassandra.chunk_persist_interval', '60s');
  if (persistSeconds < 1) throw new ConfigError('cassandra.chunk_persist_interval', 'must be at least 1s');
  return {
    schemas: schemas as ResolutionSchema[],
    chunkSpans,
    persistIntervalMs: persistSeconds * 1000,
    maxChunkBytes: source.integer('cassandra.chunk_max_bytes', DEFAULT_BLOB_OPTIONS.maxChunkBytes, { min: 64 }),
    maxCacheBytes: source.integer('cassandra.chunk_cache_max_bytes', DEFAULT_BLOB_OPTIONS.maxCacheBytes, { min: 1024 }),
    maxKnownSeries: source.integer('cassandra.chunk_known_series', DEFAULT_BLOB_OPTIONS.maxKnownSeries, { min: 1 }),
    openChunkTimeoutMs: DEFAULT_BLOB_OPTIONS.openChunkTimeoutMs,
    statsIntervalMs: DEFAULT_BLOB_OPTIONS.statsIntervalMs,
  };
}

/** True when some resolution writes chunks: the store then runs the blob writer. */
export function usesBlobs(blob: BlobStoreOptions): boolean {
  return blob.schemas.some(writesBlob);
}
