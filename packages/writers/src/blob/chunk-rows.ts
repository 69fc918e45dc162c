/**
 * Reading and writing chunk rows: prepared statements with the client's timeouts, each retried with backoff. A
 * write carries its own write timestamp (taken when the bytes were), so when two versions of one chunk race — a
 * periodic persist and the close — the newer bytes win in Cassandra whatever order they land in.
 */
import type { Resolution } from '@carillon/core';
import type { CassandraClient } from '../cassandra/client.js';
import type { CassandraOptions } from '../cassandra/options.js';
import { withRetries } from '../cassandra/retry.js';
import { chunkTable } from './options.js';

export interface StoredChunk {
  /** Time of the chunk's first point: the row's clustering key. */
  chunkStart: number;
  data: Uint8Array;
}

/** Rows fetched per page; a render range rarely covers more than a few hundred chunks. */
const FETCH_SIZE = 1_000;

export class ChunkRows {
  private readonly ks: string;

  constructor(
    private readonly client: CassandraClient,
    private readonly options: CassandraOptions,
  ) {
    this.ks = options.keyspace;
  }

  /** Writes one chunk version; `onRetry` counts retries. Throws once the retries are spent. */
  async write(
    resolution: Resolution,
    id: bigint,
    chunkStart: number,
    data: Uint8Array,
    timestampMicros: bigint,
    onRetry: () => void,
  ): Promise<void> {
    const query =
      `INSERT INTO ${this.ks}.${chunkTable(resolution)} (id, chunk_start, data) VALUES (?, ?, ?) ` +
      'USING TTL ? AND TIMESTAMP ?';
    const params = [
      id,
      BigInt(chunkStart),
      Buffer.from(data.buffer, data.byteOffset, data.byteLength),
      resolution.ttl,
      timestampMicros,
    ];
    await withRetries(
      () => this.client.execute(query, params, { prepare: true, isIdempotent: true }),
      this.options.retry,
      onRetry,
    );
  }

  /** The latest chunk of `id` starting in [from, until), if any: the one a restarted writer resumes. */
  async latest(
    resolution: Resolution,
    id: bigint,
    from: number,
    until: number,
    onRetry: () => void,
  ): Promise<StoredChunk | null> {
    const query =
      `SELECT chunk_start, data FROM ${this.ks}.${chunkTable(resolution)} ` +
      'WHERE id = ? AND chunk_start >= ? AND chunk_start < ? ORDER BY chunk_start DESC LIMIT 1';
    const result = await withRetries(
      () => this.client.execute(query, [id, BigInt(from), BigInt(until)], { prepare: true, isIdempotent: true }),
      this.options.retry,
      onRetry,
    );
    const row = result.first();
    return row ? storedChunkOf(row) : null;
  }

  /** Every chunk of `id` whose first point is after `after` and before `until`, oldest first (no retries: a read). */
  async range(resolution: Resolution, id: bigint, after: number, until: number): Promise<StoredChunk[]> {
    const query =
      `SELECT chunk_start, data FROM ${this.ks}.${chunkTable(resolution)} ` +
      'WHERE id = ? AND chunk_start > ? AND chunk_start < ?';
    const params = [id, BigInt(after), BigInt(until)];
    const chunks: StoredChunk[] = [];
    let pageState: string | undefined;
    do {
      const result = await this.client.execute(query, params, { prepare: true, fetchSize: FETCH_SIZE, pageState });
      for (const row of result.rows) chunks.push(storedChunkOf(row));
      pageState = result.pageState ?? undefined;
    } while (pageState);
    return chunks;
  }
}

function storedChunkOf(row: { get(column: string): unknown }): StoredChunk {
  const data = row.get('data') as Buffer;
  return {
    chunkStart: Number(row.get('chunk_start') as bigint),
    data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
  };
}
