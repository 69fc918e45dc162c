/**
 * Reads a series back from its resolution's flat table: one slot per window in [from, until), each the value the
 * series' aggregation rule takes from the stored StatPoint (core valueOf), as every reader does.
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
import type { CassandraClient } from './client.js';
import { flatTable, type CassandraOptions } from './options.js';

/** Rows fetched per page: one page covers most render ranges. */
const FETCH_SIZE = 5_000;

/**
 * A SeriesReader over StatPoints: `fetch` gives one slot per window in [from, until), each the value the series'
 * aggregation rule takes from its StatPoint (core valueOf); null where there is no point, an empty one, or a
 * non-finite value. The flat-row and chunk readers differ only in how they read the points.
 */
export abstract class StatPointReader implements SeriesReader {
  constructor(private readonly aggregationRules: readonly AggregationRule[]) {}

  /** The stored StatPoints of `name` with window start in [from, until), oldest first. */
  abstract points(name: string, resolution: Resolution, from: number, until: number): Promise<StatPoint[]>;

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

export class CassandraReader extends StatPointReader {
  constructor(
    private readonly client: CassandraClient,
    private readonly options: CassandraOptions,
    aggregationRules: readonly AggregationRule[],
  ) {
    super(aggregationRules);
  }

  /** The stored StatPoints of `name` with window start in [from, until), oldest first. */
  async points(name: string, resolution: Resolution, from: number, until: number): Promise<StatPoint[]> {
    const { path, tags } = splitCanonical(name);
    const query =
      `SELECT time, min, max, sum, first, last, count FROM ${this.options.keyspace}.${flatTable(resolution)} ` +
      'WHERE id = ? AND time >= ? AND time < ?';
    const params = [seriesId(path, tags), new Date(from * 1000), new Date(until * 1000)];
    const points: StatPoint[] = [];
    let pageState: string | undefined;
    do {
      const result = await this.client.execute(query, params, { prepare: true, fetchSize: FETCH_SIZE, pageState });
      for (const row of result.rows)
        points.push({
          time: (row.get('time') as Date).getTime() / 1000,
          min: row.get('min') as number,
          max: row.get('max') as number,
          sum: row.get('sum') as number,
          first: row.get('first') as number,
          last: row.get('last') as number,
          count: Number(row.get('count') as bigint),
        });
      pageState = result.pageState ?? undefined;
    } while (pageState);
    return points;
  }
}
