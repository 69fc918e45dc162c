import { zeroStats } from '../pool/shard-writer.js';

/** Counters of a worker's chunk cache, reported to the store on the main thread and exported there. */
export const CHUNK_CACHE_STATS = {
  points_appended: 'Points appended to open chunks',
  points_amended: 'Late points merged into a stored or open chunk (amends)',
  points_rejected: 'Points not after the last point of their open chunk (a replay of what is stored), not appended',
  chunks_closed: 'Chunks written because their span ended',
  chunks_split: 'Open chunks that reached the per-chunk byte bound: written and continued in a new row',
  chunks_evicted: 'Open chunks written early and dropped from memory because the cache was past its byte bound',
  chunks_persisted: 'Open chunk versions written by the periodic persist',
  chunk_writes_failed: 'Chunk writes given up after retries (points since the chunk last reached Cassandra are lost)',
  chunks_resumed: 'Stored chunks read back and continued after a start (restart mid-chunk)',
  chunk_lookups: 'Reads of a series latest stored chunk, once per series after a start',
  chunk_lookup_failures: 'Lookups given up after retries: the series went on in a new row',
  persists_skipped: 'Persist ticks skipped because the previous persist was still writing',
} as const;

export type ChunkCacheStatName = keyof typeof CHUNK_CACHE_STATS;
export type ChunkCacheStats = Record<ChunkCacheStatName, number>;

export function emptyChunkCacheStats(): ChunkCacheStats {
  return zeroStats(CHUNK_CACHE_STATS);
}

/** What a worker reports besides the counters. */
export interface ChunkCacheGauges {
  openChunks: number;
  openChunkBytes: number;
}
