/**
 * Writes the path, segment and tag index rows of the series in a shard, skipping what a bounded dedupe cache
 * says is already written: a known path costs one cache lookup per flush, not a round trip. Rows of one partition
 * go together in unlogged batches (never across partitions); a row that fails is not cached, so a later flush
 * writes it again.
 */
import type { ShardBatch, WriterStats } from '../pool/shard-writer.js';
import { BoundedSet } from './bounded-set.js';
import type { CassandraClient } from './client.js';
import { indexRowsOf, type IndexRow } from './index-rows.js';
import { PATH_TABLE, SEGMENT_TABLE, TAG_TABLE, type CassandraOptions } from './options.js';
import { forEachBounded, withRetries } from './retry.js';

/** Rows per unlogged batch: one partition's rows, kept small so a batch stays under the warn threshold. */
const MAX_ROWS_PER_BATCH = 50;

interface Statement {
  query: string;
  params: unknown[];
}

export class IndexWriter {
  private readonly cache: BoundedSet;
  private readonly insertSegment: string;
  private readonly insertPrefix: string;
  private readonly insertLeaf: string;
  private readonly insertTagged: string;

  constructor(
    private readonly client: CassandraClient,
    private readonly options: CassandraOptions,
    private readonly stats: WriterStats,
  ) {
    this.cache = new BoundedSet(options.indexCacheSize);
    const ks = options.keyspace;
    this.insertSegment = `INSERT INTO ${ks}.${SEGMENT_TABLE} (pos, segment) VALUES (?, ?)`;
    // A prefix row must not overwrite a leaf's has_data, nor a leaf row a prefix's has_children: each sets its own.
    this.insertPrefix = `INSERT INTO ${ks}.${PATH_TABLE} (segment, length, path, has_children) VALUES (?, ?, ?, true)`;
    this.insertLeaf = `INSERT INTO ${ks}.${PATH_TABLE} (segment, length, path, id, has_data) VALUES (?, ?, ?, ?, true)`;
    this.insertTagged = `INSERT INTO ${ks}.${TAG_TABLE} (tag, value, name, id) VALUES (?, ?, ?, ?)`;
  }

  get cacheEvictions(): number {
    return this.cache.evictions;
  }

  async write(batch: ShardBatch): Promise<void> {
    const byPartition = new Map<string, IndexRow[]>();
    const seriesRows = new Map<string, IndexRow[]>();
    const queued = new Set<string>();
    for (let i = 0; i < batch.names.length; i++) {
      const name = batch.names[i]!;
      const seriesKey = `n\u0000${name}`;
      if (this.cache.has(seriesKey)) {
        this.stats.index_cache_hits++;
        continue;
      }
      const rows = indexRowsOf(name, batch.ids[i]!).filter((row) => !this.cache.has(row.key));
      seriesRows.set(seriesKey, rows);
      for (const row of rows) {
        if (queued.has(row.key)) continue;
        queued.add(row.key);
        let list = byPartition.get(row.partition);
        if (!list) byPartition.set(row.partition, (list = []));
        list.push(row);
      }
    }
    if (byPartition.size === 0) return;

    const groups: IndexRow[][] = [];
    for (const rows of byPartition.values())
      for (let i = 0; i < rows.length; i += MAX_ROWS_PER_BATCH) groups.push(rows.slice(i, i + MAX_ROWS_PER_BATCH));
    const failed = new Set<string>();
    await forEachBounded(groups.length, this.options.maxInFlight, async (g) => {
      const rows = groups[g]!;
      const statements = rows.map((row) => this.statementOf(row));
      try {
        await withRetries(
          () =>
            statements.length === 1
              ? this.client.execute(statements[0]!.query, statements[0]!.params, { prepare: true, isIdempotent: true })
              : this.client.batch(statements, { prepare: true, logged: false, isIdempotent: true }),
          this.options.retry,
          () => this.stats.retries++,
        );
        for (const row of rows) this.cache.add(row.key);
        this.stats.index_rows_written += rows.length;
      } catch {
        for (const row of rows) failed.add(row.key);
        this.stats.index_rows_failed += rows.length;
      }
    });
    for (const [seriesKey, rows] of seriesRows) if (!rows.some((row) => failed.has(row.key))) this.cache.add(seriesKey);
  }

  private statementOf(row: IndexRow): Statement {
    switch (row.table) {
      case 'segment':
        return { query: this.insertSegment, params: [row.pos, row.segment] };
      case 'path':
        return row.id === null
          ? { query: this.insertPrefix, params: [row.parent, row.length, row.path] }
          : { query: this.insertLeaf, params: [row.parent, row.length, row.path, row.id] };
      case 'tagged':
        return { query: this.insertTagged, params: [row.tag, row.value, row.name, row.id] };
    }
  }
}
