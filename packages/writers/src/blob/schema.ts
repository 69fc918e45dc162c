/**
 * The chunk tables, beside the flat and index tables of the Cassandra store (cassandra/schema.ts).
 *
 * `chunk_<step>s (id bigint, chunk_start bigint, data blob, PRIMARY KEY (id, chunk_start))`, one table per
 * resolution like the flat tables, so each table has one TTL and TimeWindowCompactionStrategy drops whole SSTables.
 * `chunk_start` is a clustering column rather than part of the partition key because:
 * - a read of [from, until) is one slice of one partition (`id = ? AND chunk_start > ? AND chunk_start < ?`), one
 *   round trip whatever the number of chunks;
 * - a chunk's row key is the time of its first point, not the aligned span start: a chunk closed early (size bound,
 *   memory eviction) continues in a second row of the same span, which the slice finds without knowing it exists;
 * - the partition stays small: retention / span rows of a few KB each (168 rows for 10 s kept 7 days in 1 h chunks).
 */
import type { Resolution } from '@carillon/core';
import type { CassandraClient } from '../cassandra/client.js';
import { flatTableCql, indexTablesCql, keyspaceCql, timeSeriesTableCql } from '../cassandra/schema.js';
import type { CassandraOptions } from '../cassandra/options.js';
import { chunkTable, schemaOf, writesBlob, writesFlat, type BlobOptions } from './options.js';

export function chunkTableCql(keyspace: string, resolution: Resolution): string {
  return timeSeriesTableCql(
    `${keyspace}.${chunkTable(resolution)}`,
    'id bigint, chunk_start bigint, data blob, PRIMARY KEY (id, chunk_start)',
    'chunk_start',
    resolution,
  );
}

/** Every statement of the store's schema: flat tables only where flat is written, chunk tables where blobs are. */
export function blobStoreSchemaCql(options: CassandraOptions, blob: BlobOptions): string[] {
  const statements = [keyspaceCql(options)];
  for (const resolution of options.resolutions) {
    const schema = schemaOf(blob, resolution);
    if (writesFlat(schema)) statements.push(flatTableCql(options.keyspace, resolution));
    if (writesBlob(schema)) statements.push(chunkTableCql(options.keyspace, resolution));
  }
  return [...statements, ...indexTablesCql(options.keyspace)];
}

export async function ensureBlobStoreSchema(
  client: CassandraClient,
  options: CassandraOptions,
  blob: BlobOptions,
): Promise<void> {
  for (const statement of blobStoreSchemaCql(options, blob)) await client.execute(statement);
}
