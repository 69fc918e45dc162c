/**
 * The Cassandra writer a pool worker runs when some resolution is stored as blobs: per resolution, flat rows
 * (through the flat writer, which also writes the index), chunks (through the chunk cache), or both. Resolutions
 * without flat rows write the index themselves. Open chunks are persisted on a timer and all written at close;
 * reads reach them through the open-chunk channel.
 */
import type { Resolution } from '@carillon/core';
import type { ShardBatch, ShardWriter, WriterStats } from '../pool/shard-writer.js';
import { emptyWriterStats } from '../pool/shard-writer.js';
import { createCassandraClient, type CassandraClient } from '../cassandra/client.js';
import { CassandraFlatWriter } from '../cassandra/flat-writer.js';
import { IndexWriter } from '../cassandra/index-writer.js';
import type { CassandraOptions } from '../cassandra/options.js';
import { ChunkCache } from './chunk-cache.js';
import { ChunkRows } from './chunk-rows.js';
import { OpenChunkResponder } from './open-chunk-channel.js';
import { chunkSpanOf, schemaOf, writesBlob, writesFlat, type BlobOptions } from './options.js';

export class CassandraBlobWriter implements ShardWriter {
  private readonly client: CassandraClient;
  private readonly counters: WriterStats = emptyWriterStats();
  private readonly flat: CassandraFlatWriter | null;
  private readonly index: IndexWriter;
  private readonly cache: ChunkCache;
  private readonly channel: OpenChunkResponder;
  private readonly persistTimer: NodeJS.Timeout;
  private readonly statsTimer: NodeJS.Timeout;

  constructor(
    readonly name: string,
    options: CassandraOptions,
    private readonly blob: BlobOptions,
  ) {
    this.client = createCassandraClient(options, true);
    const flatResolutions = options.resolutions.filter((r) => writesFlat(schemaOf(blob, r)));
    this.flat = flatResolutions.length > 0 ? new CassandraFlatWriter(`${name}-flat`, options) : null;
    this.index = new IndexWriter(this.client, options, this.counters);
    this.cache = new ChunkCache(
      new ChunkRows(this.client, options),
      blob,
      (resolution) => chunkSpanOf(blob, resolution),
      options.maxInFlight,
      this.counters,
    );
    this.channel = new OpenChunkResponder(blob.channel, (id, step) => this.cache.openChunk(id, step));
    this.persistTimer = setInterval(() => void this.cache.persist(), blob.persistIntervalMs);
    this.statsTimer = setInterval(() => this.reportStats(), blob.statsIntervalMs);
    this.persistTimer.unref();
    this.statsTimer.unref();
  }

  /**
   * Hands back the flat rows that failed. Points appended to an open chunk are in the worker's memory until the
   * chunk is persisted (at most blob.persist_interval later): the blob schema's bound, documented.
   */
  async write(batch: ShardBatch): Promise<readonly number[]> {
    const schema = schemaOf(this.blob, batch.resolution);
    const work: Promise<unknown>[] = [];
    let failed: readonly number[] = [];
    // The flat writer writes the index with its rows; without flat rows the index is written here.
    if (writesFlat(schema) && this.flat)
      work.push(
        this.flat.write(batch).then((rows) => {
          failed = rows;
        }),
      );
    else work.push(this.index.write(batch));
    let chunkFailed: readonly number[] = [];
    if (writesBlob(schema)) {
      const slice = {
        resolution: batch.resolution,
        time: batch.time,
        ids: batch.ids,
        stats: batch.stats,
        times: batch.times,
        count: batch.names.length,
      };
      if (batch.amend === true)
        work.push(
          this.cache.amend(slice).then((rows) => {
            chunkFailed = rows;
          }),
        );
      else work.push(this.cache.append(slice));
    }
    await Promise.all(work);
    if (chunkFailed.length === 0) return failed;
    // Retried as a whole amend: the flat row (when kept too) and the chunk are both read, merged and rewritten.
    return [...new Set([...failed, ...chunkFailed])].sort((a, b) => a - b);
  }

  stats(): WriterStats {
    const flat = this.flat?.stats();
    if (!flat) return this.counters;
    const sum = emptyWriterStats();
    for (const key of Object.keys(sum) as (keyof WriterStats)[]) sum[key] = this.counters[key] + flat[key];
    return sum;
  }

  private reportStats(): void {
    this.channel.reportStats({ ...this.cache.stats }, this.cache.gauges());
  }

  /** Writes every open chunk that changed, so a clean stop loses nothing, then closes the clients. */
  async close(): Promise<void> {
    clearInterval(this.persistTimer);
    clearInterval(this.statsTimer);
    await this.cache.flushAll();
    this.reportStats();
    this.channel.close();
    await Promise.all([this.client.shutdown(), this.flat?.close()]);
  }

  /** For tests: the resolution's open chunk of a series. */
  openChunk(id: bigint, resolution: Resolution): { chunkStart: number; data: Uint8Array } | null {
    return this.cache.openChunk(id, resolution.step);
  }
}
