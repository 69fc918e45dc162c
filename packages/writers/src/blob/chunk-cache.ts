/**
 * The open chunk of each (series, resolution) a pool worker writes: points are appended as their windows are
 * flushed, so the chunk grows in memory and is written
 * - when a point falls in a later span (the chunk is closed: written a last time and dropped);
 * - every persist interval while it changed (the same row overwritten with the bytes so far), so a crash loses
 *   at most that interval;
 * - early, when it reaches the per-chunk byte bound (split: the series continues in a new row of the same span) or
 *   when the cache is past its byte bound (evicted: the oldest open chunks go first).
 * The first time a series is seen after a start, its latest stored chunk in the current span is read back and
 * continued (ChunkEncoder.fromBytes), so a restart mid-chunk keeps one row per span.
 */
import { batchPoint, mergeStatPoint, type Resolution, type StatPoint } from '@carillon/core';
import { ChunkEncoder, decodeChunk, encodeChunk, readChunkHeader } from '@carillon/codec';
import { BoundedSet } from '../cassandra/bounded-set.js';
import { forEachBounded } from '../cassandra/retry.js';
import type { WriterStats } from '../pool/shard-writer.js';
import { emptyChunkCacheStats, type ChunkCacheGauges, type ChunkCacheStats } from './cache-stats.js';
import type { ChunkRows } from './chunk-rows.js';
import { spanStart, type BlobOptions } from './options.js';

interface OpenChunk {
  id: bigint;
  resolution: Resolution;
  spanStart: number;
  /** Row key: the time of the chunk's first point (or of the stored chunk it continues). */
  chunkStart: number;
  encoder: ChunkEncoder;
  /** Appended to since it was last written. */
  dirty: boolean;
  /** Bytes counted in the cache total for this chunk. */
  accounted: number;
}

/** The slice of a flush batch the cache needs: ids and StatPoint columns of one window. */
export interface ChunkBatch {
  resolution: Resolution;
  time: number;
  ids: BigInt64Array;
  stats: Float64Array;
  /** First/last timestamps (core TIME_STRIDE), kept in the chunk so amends merge first and last exactly. */
  times?: Float64Array;
  count: number;
}

export class ChunkCache {
  readonly stats: ChunkCacheStats = emptyChunkCacheStats();
  private readonly open = new Map<string, OpenChunk>();
  private readonly known: BoundedSet;
  private totalBytes = 0;
  private lastTimestamp = 0n;
  private persisting: Promise<void> | null = null;

  constructor(
    private readonly rows: ChunkRows,
    private readonly options: BlobOptions,
    private readonly spanOf: (resolution: Resolution) => number,
    private readonly maxInFlight: number,
    /** The writer's row counters (rows_written, rows_failed, retries), shared with its flat rows. */
    private readonly rowStats: WriterStats,
  ) {
    this.known = new BoundedSet(options.maxKnownSeries);
  }

  gauges(): ChunkCacheGauges {
    return { openChunks: this.open.size, openChunkBytes: this.totalBytes };
  }

  /** The open chunk of a series, for reads: its row key and bytes so far. */
  openChunk(id: bigint, step: number): { chunkStart: number; data: Uint8Array } | null {
    const chunk = this.open.get(keyOf(id, step));
    return chunk && chunk.encoder.count > 0 ? { chunkStart: chunk.chunkStart, data: chunk.encoder.bytes() } : null;
  }

  /** Appends one window of points, then writes whatever closed, split or was evicted. */
  async append(batch: ChunkBatch): Promise<void> {
    const span = this.spanOf(batch.resolution);
    const start = spanStart(batch.time, span);
    await this.resumeUnknown(batch, start, span);
    const toWrite: OpenChunk[] = [];
    const step = batch.resolution.step;
    for (let i = 0; i < batch.count; i++) {
      const id = batch.ids[i]!;
      const key = keyOf(id, step);
      let chunk = this.open.get(key);
      if (chunk && chunk.spanStart !== start) {
        this.stats.chunks_closed++;
        toWrite.push(this.drop(key, chunk));
        chunk = undefined;
      } else if (chunk && chunk.encoder.byteLength >= this.options.maxChunkBytes) {
        this.stats.chunks_split++;
        toWrite.push(this.drop(key, chunk));
        chunk = undefined;
      }
      const point = batchPoint(batch, i);
      if (chunk && chunk.encoder.lastTime !== undefined && point.time <= chunk.encoder.lastTime) {
        this.stats.points_rejected++;
        continue;
      }
      if (!chunk) {
        chunk = {
          id,
          resolution: batch.resolution,
          spanStart: start,
          chunkStart: point.time,
          encoder: new ChunkEncoder(step, 64),
          dirty: false,
          accounted: 0,
        };
        this.open.set(key, chunk);
      }
      chunk.encoder.append(point);
      chunk.dirty = true;
      this.account(chunk);
      this.stats.points_appended++;
    }
    // Past the cache bound: the oldest open chunks (Map order is opening order) are written and dropped.
    for (const [key, chunk] of this.open) {
      if (this.totalBytes <= this.options.maxCacheBytes) break;
      this.stats.chunks_evicted++;
      toWrite.push(this.drop(key, chunk));
    }
    await forEachBounded(toWrite.length, this.maxInFlight, async (i) => {
      const chunk = toWrite[i]!;
      if (chunk.dirty) await this.writeChunk(chunk, chunk.encoder.bytes());
    });
  }

  /**
   * Merges late StatPoints into the windows stored for them (core mergeStatPoint, the stored point first): the
   * chunk holding the window is decoded, the point merged or inserted in time order, and the chunk re-encoded —
   * in memory when it is the open chunk, else read from its row and written back to the same row. Chunks keep
   * each point's first/last timestamps (codec version 2), so every column merges exactly; a point of a version 1
   * chunk has none, and its are taken as its window start.
   * Returns the indexes of the series not stored (a failed read or write), to retry.
   */
  async amend(batch: ChunkBatch): Promise<number[]> {
    const span = this.spanOf(batch.resolution);
    const start = spanStart(batch.time, span);
    const step = batch.resolution.step;
    const failed: number[] = [];
    await forEachBounded(batch.count, this.maxInFlight, async (i) => {
      const id = batch.ids[i]!;
      const late = batchPoint(batch, i);
      const open = this.open.get(keyOf(id, step));
      if (open && open.spanStart === start && open.chunkStart <= batch.time) {
        const points = mergeInto(decodeChunk(open.encoder.bytes()), late);
        open.encoder = ChunkEncoder.fromBytes(encodeChunk(points, step));
        open.dirty = true;
        this.account(open);
        this.stats.points_amended++;
        return;
      }
      try {
        // The row holding the window: the latest chunk of its span starting at or before it.
        const stored = await this.rows.latest(batch.resolution, id, start, batch.time + 1, () => {
          this.rowStats.retries++;
        });
        const points = stored ? mergeInto(decodeChunk(stored.data), late) : [late];
        const chunkStart = stored ? stored.chunkStart : batch.time;
        await this.rows.write(batch.resolution, id, chunkStart, encodeChunk(points, step), this.nextTimestamp(), () => {
          this.rowStats.retries++;
        });
        this.rowStats.rows_written++;
        this.stats.points_amended++;
      } catch {
        this.rowStats.rows_failed++;
        this.stats.chunk_writes_failed++;
        failed.push(i);
      }
    });
    return failed.sort((a, b) => a - b);
  }

  /** Writes every open chunk that changed since it was last written; skipped (counted) while one is running. */
  persist(): Promise<void> {
    if (this.persisting) {
      this.stats.persists_skipped++;
      return this.persisting;
    }
    const dirty = [...this.open.values()].filter((chunk) => chunk.dirty);
    this.persisting = forEachBounded(dirty.length, this.maxInFlight, async (i) => {
      const chunk = dirty[i]!;
      // Closed meanwhile: the close wrote it. Snapshots are taken one at a time to bound the copies in memory.
      if (!chunk.dirty || this.open.get(keyOf(chunk.id, chunk.resolution.step)) !== chunk) return;
      chunk.dirty = false;
      if (await this.writeChunk(chunk, chunk.encoder.bytes())) this.stats.chunks_persisted++;
      else chunk.dirty = true;
    }).finally(() => {
      this.persisting = null;
    });
    return this.persisting;
  }

  /** Writes every open chunk that changed (at close: nothing in memory is lost on a clean stop). */
  async flushAll(): Promise<void> {
    if (this.persisting) await this.persisting;
    await this.persist();
  }

  private drop(key: string, chunk: OpenChunk): OpenChunk {
    this.open.delete(key);
    this.totalBytes -= chunk.accounted;
    chunk.accounted = 0;
    return chunk;
  }

  private account(chunk: OpenChunk): void {
    const bytes = chunk.encoder.byteLength;
    this.totalBytes += bytes - chunk.accounted;
    chunk.accounted = bytes;
  }

  /** Microseconds, strictly increasing: the write timestamp that orders versions of one chunk. */
  private nextTimestamp(): bigint {
    const now = BigInt(Date.now()) * 1000n;
    this.lastTimestamp = now > this.lastTimestamp ? now : this.lastTimestamp + 1n;
    return this.lastTimestamp;
  }

  private async writeChunk(chunk: OpenChunk, data: Uint8Array): Promise<boolean> {
    try {
      await this.rows.write(chunk.resolution, chunk.id, chunk.chunkStart, data, this.nextTimestamp(), () => {
        this.rowStats.retries++;
      });
      this.rowStats.rows_written++;
      return true;
    } catch {
      this.rowStats.rows_failed++;
      this.stats.chunk_writes_failed++;
      return false;
    }
  }

  /** Series of the batch seen for the first time since start: continue their stored chunk of this span, if any. */
  private async resumeUnknown(batch: ChunkBatch, start: number, span: number): Promise<void> {
    const step = batch.resolution.step;
    const unknown: number[] = [];
    for (let i = 0; i < batch.count; i++) {
      const key = keyOf(batch.ids[i]!, step);
      if (this.open.has(key) || this.known.has(key)) continue;
      this.known.add(key);
      unknown.push(i);
    }
    await forEachBounded(unknown.length, this.maxInFlight, async (n) => {
      const id = batch.ids[unknown[n]!]!;
      this.stats.chunk_lookups++;
      let stored;
      try {
        stored = await this.rows.latest(batch.resolution, id, start, start + span, () => {
          this.rowStats.retries++;
        });
      } catch {
        this.stats.chunk_lookup_failures++;
        return;
      }
      // A stored chunk at its size bound is not reopened: the series continues in a new row.
      if (!stored || stored.data.byteLength >= this.options.maxChunkBytes) return;
      let encoder: ChunkEncoder;
      try {
        if (readChunkHeader(stored.data).step !== step) return;
        encoder = ChunkEncoder.fromBytes(stored.data);
      } catch {
        // Unreadable (corrupt or a newer format): left as it is; the series goes on in a new row.
        this.stats.chunk_lookup_failures++;
        return;
      }
      const chunk: OpenChunk = {
        id,
        resolution: batch.resolution,
        spanStart: start,
        chunkStart: stored.chunkStart,
        encoder,
        dirty: false,
        accounted: 0,
      };
      this.open.set(keyOf(id, step), chunk);
      this.account(chunk);
      this.stats.chunks_resumed++;
    });
  }
}

/** `points` (time order) with `late` merged into the point of its window, or inserted where it belongs. */
function mergeInto(points: StatPoint[], late: StatPoint): StatPoint[] {
  const at = points.findIndex((p) => p.time >= late.time);
  if (at >= 0 && points[at]!.time === late.time) {
    mergeStatPoint(points[at]!, late);
  } else points.splice(at < 0 ? points.length : at, 0, late);
  return points;
}

function keyOf(id: bigint, step: number): string {
  return `${step}:${id}`;
}
