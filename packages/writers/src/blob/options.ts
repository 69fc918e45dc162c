/**
 * Settings of the blob schema: which resolutions are stored as flat rows, as compressed chunks, or both; how long a
 * chunk spans; how often open chunks are persisted; and the bounds on the chunk cache each pool worker keeps.
 */
import type { Resolution } from '@carillon/core';

export const RESOLUTION_SCHEMAS = ['flat', 'blob', 'both'] as const;
export type ResolutionSchema = (typeof RESOLUTION_SCHEMAS)[number];

export interface BlobOptions {
  /** One per resolution, finest first (aligned with CassandraOptions.resolutions). */
  schemas: ResolutionSchema[];
  /** Seconds one chunk covers, one per resolution; each a whole multiple of its step. */
  chunkSpans: number[];
  /** Open chunks that changed are written this often, so a crash loses at most this much of each chunk. */
  persistIntervalMs: number;
  /** An open chunk this large is written and closed early; the series continues in a new chunk. */
  maxChunkBytes: number;
  /** Open chunk bytes one pool worker keeps; past it the oldest open chunks are written and dropped (evicted). */
  maxCacheBytes: number;
  /**
   * Series whose latest stored chunk a worker has already looked up since it started. A series not in it is
   * looked up once (one read) so a chunk persisted before a restart is resumed instead of started anew.
   */
  maxKnownSeries: number;
  /** How long a read waits for the pool workers to hand over a series' open chunk. */
  openChunkTimeoutMs: number;
  /** How often each worker reports its chunk cache counters to the store. */
  statsIntervalMs: number;
  /** BroadcastChannel name between the store (main thread) and its pool workers: unique per store. */
  channel: string;
}

/** A chunk of 360 windows: 1 h at 10 s, 6 h at 1 m, 60 h at 10 m. */
export const DEFAULT_CHUNK_WINDOWS = 360;

export const DEFAULT_BLOB_OPTIONS = {
  persistIntervalMs: 60_000,
  maxChunkBytes: 16_384,
  maxCacheBytes: 256 << 20,
  maxKnownSeries: 1_000_000,
  openChunkTimeoutMs: 2_000,
  statsIntervalMs: 1_000,
} as const;

export function defaultChunkSpan(resolution: Resolution): number {
  return resolution.step * DEFAULT_CHUNK_WINDOWS;
}

/** The chunk table of one resolution: `chunk_<step>s`. One table per TTL keeps TimeWindowCompactionStrategy effective. */
export function chunkTable(resolution: Resolution): string {
  return `chunk_${resolution.step}s`;
}

export function schemaOf(options: BlobOptions, resolution: Resolution): ResolutionSchema {
  const schema = options.schemas[resolution.index];
  if (schema === undefined) throw new Error(`no schema for resolution ${resolution.name}`);
  return schema;
}

export const writesFlat = (schema: ResolutionSchema): boolean => schema !== 'blob';
export const writesBlob = (schema: ResolutionSchema): boolean => schema !== 'flat';

export function chunkSpanOf(options: BlobOptions, resolution: Resolution): number {
  const span = options.chunkSpans[resolution.index];
  if (span === undefined) throw new Error(`no chunk span for resolution ${resolution.name}`);
  return span;
}

/** Start of the aligned span holding `time`: spans are aligned to the epoch, like windows. */
export function spanStart(time: number, span: number): number {
  return Math.floor(time / span) * span;
}

/**
 * Checks schemas and spans against the resolutions; returns an error message naming the list entry (the config
 * reader wraps it with its key) or null.
 */
export function checkBlobLayout(
  resolutions: readonly Resolution[],
  schemas: readonly string[],
  chunkSpans: readonly number[],
): { entry: 'schema' | 'chunk_spans'; index: number; message: string } | null {
  if (schemas.length !== resolutions.length)
    return { entry: 'schema', index: -1, message: `needs ${resolutions.length} entries, one per entry of times` };
  for (let i = 0; i < schemas.length; i++)
    if (!(RESOLUTION_SCHEMAS as readonly string[]).includes(schemas[i]!))
      return {
        entry: 'schema',
        index: i,
        message: `must be one of ${RESOLUTION_SCHEMAS.join(', ')}, got "${schemas[i]}"`,
      };
  if (chunkSpans.length !== resolutions.length)
    return { entry: 'chunk_spans', index: -1, message: `needs ${resolutions.length} entries, one per entry of times` };
  for (let i = 0; i < chunkSpans.length; i++) {
    const span = chunkSpans[i]!;
    const step = resolutions[i]!.step;
    if (!Number.isInteger(span) || span < step || span % step !== 0)
      return { entry: 'chunk_spans', index: i, message: `${span}s must be a whole multiple of the step ${step}s` };
  }
  return null;
}
