/**
 * The Cassandra writer the write pool's workers run: each series of a shard becomes one row of its resolution's
 * flat table (a prepared INSERT with the resolution's TTL; a flush window holds one row per partition, so there is
 * nothing to batch), and the index rows go through the IndexWriter. Statements run with bounded concurrency, each
 * with the client's timeouts and retried with backoff; rows still failing after the retries are counted.
 */
import {
  batchPoint,
  mergeStatPoint,
  nowSeconds,
  STAT_COUNT,
  STAT_FIRST,
  STAT_LAST,
  STAT_MAX,
  STAT_MIN,
  STAT_STRIDE,
  STAT_SUM,
  TIME_FIRST,
  TIME_LAST,
  TIME_STRIDE,
  type StatPoint,
} from '@carillon/core';
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
  private readonly selects = new Map<number, string>();

  constructor(
    readonly name: string,
    private readonly options: CassandraOptions,
  ) {
    this.client = createCassandraClient(options, true);
    this.index = new IndexWriter(this.client, options, this.counters);
    for (const resolution of options.resolutions)
      this.inserts.set(
        resolution.step,
        `INSERT INTO ${options.keyspace}.${flatTable(resolution)} ` +
          '(id, time, min, max, sum, first, last, count, first_time, last_time) ' +
          'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) USING TTL ?',
      );
    for (const resolution of options.resolutions)
      this.selects.set(
        resolution.step,
        `SELECT min, max, sum, first, last, count, first_time, last_time FROM ${options.keyspace}.` +
          `${flatTable(resolution)} WHERE id = ? AND time = ?`,
      );
  }

  /**
   * An amend: the stored row read, the late StatPoint merged into it (core mergeStatPoint, stored first), the
   * row rewritten with the TTL it has left. One owner per window and one worker per series (in order) make the
   * read-modify-write safe; it needs reads that see the last write (RF 1, or QUORUM reads and writes).
   */
  private async amendRow(step: number, id: bigint, time: Date, late: StatPoint): Promise<StatPoint> {
    const select = this.selects.get(step)!;
    const result = await withRetries(
      () => this.client.execute(select, [id, time], { prepare: true, isIdempotent: true }),
      this.options.retry,
      () => this.counters.retries++,
    );
    const row = result.first();
    if (row === null || row === undefined || row.get('count') === null) return late;
    const firstTime = row.get('first_time') as bigint | null;
    const lastTime = row.get('last_time') as bigint | null;
    const stored: StatPoint = {
      time: late.time,
      min: row.get('min') as number,
      max: row.get('max') as number,
      sum: row.get('sum') as number,
      first: row.get('first') as number,
      last: row.get('last') as number,
      count: Number(row.get('count') as bigint),
    };
    // Rows written before the columns existed read as the window start (first stays, the late point is last).
    stored.firstTime = firstTime === null ? late.time : Number(firstTime);
    stored.lastTime = lastTime === null ? late.time : Number(lastTime);
    mergeStatPoint(stored, late);
    return stored;
  }

  async write(batch: ShardBatch): Promise<number[]> {
    const insert = this.inserts.get(batch.resolution.step);
    if (!insert) throw new Error(`${this.name}: no flat table for resolution ${batch.resolution.name}`);
    const time = new Date(batch.time * 1000);
    const ttl = batch.resolution.ttl;
    const { stats, ids } = batch;
    const failed: number[] = [];
    const amend = batch.amend === true;
    // An amended row keeps the expiry it was written with (about window + TTL), not a fresh TTL.
    const amendTtl = Math.max(1, ttl - Math.max(0, nowSeconds() - batch.time));
    const rows = async (): Promise<void> =>
      forEachBounded(batch.names.length, this.options.maxInFlight, async (i) => {
        try {
          let params: unknown[];
          if (amend) {
            const merged = await this.amendRow(batch.resolution.step, ids[i]!, time, batchPoint(batch, i));
            params = [
              ids[i]!,
              time,
              merged.min,
              merged.max,
              merged.sum,
              merged.first,
              merged.last,
              BigInt(merged.count),
              BigInt(merged.firstTime ?? batch.time),
              BigInt(merged.lastTime ?? batch.time),
              amendTtl,
            ];
          } else {
            const o = i * STAT_STRIDE;
            const t = i * TIME_STRIDE;
            params = [
              ids[i]!,
              time,
              stats[o + STAT_MIN]!,
              stats[o + STAT_MAX]!,
              stats[o + STAT_SUM]!,
              stats[o + STAT_FIRST]!,
              stats[o + STAT_LAST]!,
              BigInt(stats[o + STAT_COUNT]!),
              BigInt(batch.times?.[t + TIME_FIRST] ?? batch.time),
              BigInt(batch.times?.[t + TIME_LAST] ?? batch.time),
              ttl,
            ];
          }
          // The merged row is absolute, so retrying its INSERT is safe; a row given up on after its retries goes back
          // for the whole read-merge-write again, which counts the amend twice if the given-up write had landed.
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
