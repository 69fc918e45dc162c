/**
 * Reads a series stored as chunks: the stored chunks whose span overlaps [from, until) (one partition slice) and
 * the open chunk a pool worker holds in memory (points flushed since the last persist), decoded and merged. The
 * open chunk replaces the stored version of the same row, which holds a prefix of it.
 */
import {
  aggregationRuleFor,
  seriesId,
  splitCanonical,
  valueOf,
  type AggregationRule,
  type Resolution,
  type SeriesReader,
  type StatPoint,
} from '@carillon/core';
import { decodeChunk } from '@carillon/codec';
import type { ChunkRows } from './chunk-rows.js';
import type { OpenChunkRequester } from './open-chunk-channel.js';
import { chunkSpanOf, type BlobOptions } from './options.js';

export class BlobReader implements SeriesReader {
  /** Stored chunks that did not decode (skipped, so the rest of the range still answers). */
  unreadableChunks = 0;

  constructor(
    private readonly rows: ChunkRows,
    private readonly blob: BlobOptions,
    private readonly openChunks: OpenChunkRequester,
    private readonly aggregationRules: readonly AggregationRule[],
  ) {}

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

  async fetch(name: string, resolution: Resolution, from: number, until: number): Promise<(number | null)[]> {
    const count = Math.max(0, Math.ceil((until - from) / resolution.step));
    const values = new Array<number | null>(count).fill(null);
    const method = aggregationRuleFor(splitCanonical(name).path, this.aggregationRules).method;
    for (const point of await this.points(name, resolution, from, until)) {
      const slot = Math.floor((point.time - from) / resolution.step);
      if (slot < 0 || slot >= count || point.count === 0) continue;
      const value = valueOf(point, method);
      if (Number.isFinite(value)) values[slot] = value;
    }
    return values;
  }
}
