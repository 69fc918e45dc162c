/**
 * Reads a series stored as chunks: the stored chunks whose span overlaps [from, until) (one partition slice) and
 * the open chunk a pool worker holds in memory (points flushed since the last persist), decoded and merged. The
 * open chunk replaces the stored version of the same row, which holds a prefix of it.
 */
import { seriesId, splitCanonical, type AggregationRule, type Resolution, type StatPoint } from '@carillon/core';
import { decodeChunk } from '@carillon/codec';
import { StatPointReader } from '../cassandra/reader.js';
import type { ChunkRows } from './chunk-rows.js';
import type { OpenChunkRequester } from './open-chunk-channel.js';
import { chunkSpanOf, type BlobOptions } from './options.js';

export class BlobReader extends StatPointReader {
  /** Stored chunks that did not decode (skipped, so the rest of the range still answers). */
  unreadableChunks = 0;

  constructor(
    private readonly rows: ChunkRows,
    private readonly blob: BlobOptions,
    private readonly openChunks: OpenChunkRequester,
    aggregationRules: readonly AggregationRule[],
  ) {
    super(aggregationRules);
  }

  /** The StatPoints of `name` with window start in [from, until), oldest first. */
  async points(name: string, resolution: Resolution, from: number, until: number): Promise<StatPoint[]> {
    if (until <= from) return [];
    const { path, tags } = splitCanonical(name);
    const id = seriesId(path, tags);
    const span = chunkSpanOf(this.blob, resolution);
    // A chunk starts at its first point, at or after its span's start: one starting after from - span may hold from.
    const [stored, open] = await Promise.all([
      this.rows.range(resolution, id, from - span, until),
      this.openChunks.openChunk(id, resolution.step),
    ]);
    const byStart = new Map<number, Uint8Array>();
    for (const chunk of stored) byStart.set(chunk.chunkStart, chunk.data);
    if (open && open.chunkStart > from - span && open.chunkStart < until) byStart.set(open.chunkStart, open.data);
    const byTime = new Map<number, StatPoint>();
    for (const start of [...byStart.keys()].sort((a, b) => a - b)) {
      let points: StatPoint[];
      try {
        points = decodeChunk(byStart.get(start)!);
      } catch {
        this.unreadableChunks++;
        continue;
      }
      for (const point of points) if (point.time >= from && point.time < until) byTime.set(point.time, point);
    }
    return [...byTime.values()].sort((a, b) => a.time - b.time);
  }
}
