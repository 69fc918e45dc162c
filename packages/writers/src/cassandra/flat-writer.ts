/**
 * The Cassandra writer the write pool's workers run: each series of a shard becomes one row of its resolution's
 * flat table (a prepared INSERT with the resolution's TTL; a flush window holds one row per partition, so there is
 * nothing to batch), and the index rows go through the IndexWriter. Statements run with bounded concurrency, each
 * with the client's timeouts and retried with backoff; rows still failing after the retries are counted.
 */
import { STAT_COUNT, STAT_FIRST, STAT_LAST, STAT_MAX, STAT_MIN, STAT_STRIDE, STAT_SUM } from '@carillon/core';
import type { ShardBatch, ShardWriter, WriterStats } from '../pool/shard-writer.js';
import { emptyWriterStats } from '../pool/shard-writer.js';
import { createCassandraClient, type CassandraClient } from './client.js';
import { IndexWriter } from './index-writer.js';
import { flatTable, type CassandraOptions } from './options.js';
import { forEachBounded, withRetries } from './retry.js';

export class CassandraFlatWriter implements ShardWriter {
  private readonly client: CassandraClient;
  private readonly counters: WriterStats = emptyWriterStats();
  private readonly index: IndexWriter;
  private readonly inserts = new Map<number, string>();

  constructor(
    readonly name: string,
    private readonly options: CassandraOptions,
  ) {
    this.client = createCassandraClient(options, true);
    this.index = new IndexWriter(this.client, options, this.counters);
    for (const resolution of options.resolutions)
      this.inserts.set(
        resolution.step,
        `INSERT INTO ${options.keyspace}.${flatTable(resolution)} (id, time, min, max, sum, first, last, count) ` +
          'VALUES (?, ?, ?, ?, ?, ?, ?, ?) USING TTL ?',
      );
  }

  async write(batch: ShardBatch): Promise<number[]> {
    const insert = this.inserts.get(batch.resolution.step);
    if (!insert) throw new Error(`${this.name}: no flat table for resolution ${batch.resolution.name}`);
    const time = new Date(batch.time * 1000);
    const ttl = batch.resolution.ttl;
    const { stats, ids } = batch;
    const failed: number[] = [];
    const rows = async (): Promise<void> =>
      forEachBounded(batch.names.length, this.options.maxInFlight, async (i) => {
        const o = i * STAT_STRIDE;
        const params = [
          ids[i]!,
          time,
          stats[o + STAT_MIN]!,
          stats[o + STAT_MAX]!,
          stats[o + STAT_SUM]!,
          stats[o + STAT_FIRST]!,
          stats[o + STAT_LAST]!,
          BigInt(stats[o + STAT_COUNT]!),
          ttl,
        ];
        try {
          await withRetries(
            () => this.client.execute(insert, params, { prepare: true, isIdempotent: true }),
            this.options.retry,
            () => this.counters.retries++,
          );
          this.counters.rows_written++;
        } catch {
          this.counters.rows_failed++;
          failed.push(i);
        }
      });
    // Index rows that fail are written again at a later flush (IndexWriter), so only data rows are handed back.
    await Promise.all([rows(), this.index.write(batch)]);
    return failed.sort((a, b) => a - b);
  }

  stats(): WriterStats {
    return this.counters;
  }

  async close(): Promise<void> {
    await this.client.shutdown();
  }
}
