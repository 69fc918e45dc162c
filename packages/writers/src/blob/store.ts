/**
 * The Cassandra store with a schema per resolution: flat rows, chunks, or both. Like the flat store, the schema is
 * made at open and flushed windows go through the write pool, whose workers each run a CassandraBlobWriter owning
 * the open chunks of its series. Reads answer from the flat table where one is written, otherwise from the chunks
 * (stored ones and the workers' open ones); find and tags from the index tables.
 */
import { randomUUID } from 'node:crypto';
import type { FlushBatch, Resolution, SeriesReader, WriteOutcome, Writer } from '@carillon/core';
import { WritePool } from '../pool/write-pool.js';
import type { CassandraClient } from '../cassandra/client.js';
import { CassandraFinder } from '../cassandra/finder.js';
import type { CassandraOptions } from '../cassandra/options.js';
import { CassandraReader } from '../cassandra/reader.js';
import type { RetentionSplit } from '../cassandra/retention-split.js';
import {
  connectWithSchema,
  retentionSplit,
  type CassandraPoolOptions,
  type CassandraStoreDeps,
} from '../cassandra/store.js';
import { CHUNK_CACHE_STATS, emptyChunkCacheStats, type ChunkCacheStatName } from './cache-stats.js';
import { ChunkRows } from './chunk-rows.js';
import { OpenChunkRequester } from './open-chunk-channel.js';
import { schemaOf, writesFlat, type BlobOptions } from './options.js';
import { BlobReader } from './reader.js';
import { ensureBlobStoreSchema } from './schema.js';

/** Blob settings as configured; the store names its own channel. */
export type BlobStoreOptions = Omit<BlobOptions, 'channel'>;

export class CassandraBlobStore implements Writer, SeriesReader {
  readonly name = 'cassandra';

  private constructor(
    private readonly client: CassandraClient,
    private readonly blob: BlobOptions,
    readonly pool: WritePool,
    readonly flatReader: CassandraReader,
    readonly blobReader: BlobReader,
    readonly finder: CassandraFinder,
    private readonly openChunks: OpenChunkRequester,
    private readonly retention: RetentionSplit,
  ) {}

  static async open(
    options: CassandraOptions,
    blobOptions: BlobStoreOptions,
    pool: CassandraPoolOptions,
    deps: CassandraStoreDeps,
  ): Promise<CassandraBlobStore> {
    const blob: BlobOptions = { ...blobOptions, channel: `carillon-blob-${options.keyspace}-${randomUUID()}` };
    const client = await connectWithSchema(
      options,
      (admin) => ensureBlobStoreSchema(admin, options, blob),
      deps.logger,
    );
    const registry = deps.metrics;
    const counters = Object.fromEntries(
      (Object.keys(CHUNK_CACHE_STATS) as ChunkCacheStatName[]).map((key) => [
        key,
        registry.counter(`blob_${key}_total`, CHUNK_CACHE_STATS[key]).labels(),
      ]),
    );
    const openChunks: OpenChunkRequester = new OpenChunkRequester(
      blob.channel,
      () => pool.workers,
      blob.openChunkTimeoutMs,
      () => {
        const sum = emptyChunkCacheStats();
        for (const report of openChunks.reports.values())
          for (const key of Object.keys(sum) as ChunkCacheStatName[]) sum[key] += report.stats[key];
        for (const key of Object.keys(sum) as ChunkCacheStatName[]) counters[key]!.value = sum[key];
      },
    );
    const reader = new BlobReader(new ChunkRows(client, options), blob, openChunks, deps.aggregationRules);
    registry.gauge('blob_open_chunks', 'Open chunks held by the write pool workers', [], (gauge) =>
      gauge.set(sumGauges(openChunks, 'openChunks')),
    );
    registry.gauge('blob_open_chunk_bytes', 'Bytes of the open chunks held by the write pool workers', [], (gauge) =>
      gauge.set(sumGauges(openChunks, 'openChunkBytes')),
    );
    registry.gauge(
      'blob_open_chunk_read_timeouts',
      'Reads that had no answer from every pool worker in time',
      [],
      (gauge) => gauge.set(openChunks.timeouts),
    );
    registry.gauge('blob_unreadable_chunks', 'Stored chunks a read could not decode (skipped)', [], (gauge) =>
      gauge.set(reader.unreadableChunks),
    );
    const writePool = new WritePool(
      { ...pool, name: 'cassandra', writers: [{ kind: 'cassandra-blob', name: 'cassandra', options, blob }] },
      { metrics: registry, logger: deps.logger },
    );
    deps.logger?.info(
      { keyspace: options.keyspace, schemas: blob.schemas, chunkSpans: blob.chunkSpans, workers: pool.workers },
      'cassandra store opened (flat and blob schemas)',
    );
    return new CassandraBlobStore(
      client,
      blob,
      writePool,
      new CassandraReader(client, options, deps.aggregationRules),
      reader,
      new CassandraFinder(client, options, deps.finder),
      openChunks,
      retentionSplit(deps),
    );
  }

  notLive(): string | undefined {
    return this.pool.notLive();
  }

  overloaded(): boolean {
    return this.pool.overloaded();
  }

  write(batch: FlushBatch): Promise<WriteOutcome> {
    return this.retention.write(batch, (part) => this.pool.write(part));
  }

  /** Flat rows where they are written (flat, both), chunks where only chunks are. */
  fetch(name: string, resolution: Resolution, from: number, until: number): Promise<(number | null)[]> {
    return writesFlat(schemaOf(this.blob, resolution))
      ? this.flatReader.fetch(name, resolution, from, until)
      : this.blobReader.fetch(name, resolution, from, until);
  }

  /** Waits for the pool (whose workers write every changed open chunk as they close), then closes the client. */
  async close(): Promise<void> {
    await this.pool.close();
    this.openChunks.close();
    await this.client.shutdown();
  }
}

function sumGauges(openChunks: OpenChunkRequester, key: 'openChunks' | 'openChunkBytes'): number {
  let total = 0;
  for (const report of openChunks.reports.values()) total += report.gauges[key];
  return total;
}
