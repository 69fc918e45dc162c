/**
 * The tables, created by the program: the original metric_point / metric_path design brought to Cassandra 4/5
 * (no COMPACT STORAGE; TimeWindowCompactionStrategy instead of DateTiered).
 *
 * - `flat_<step>s`: one row per (series id, time) per resolution holding the StatPoint; the table's TTL and
 *   compaction windows follow the resolution's retention, so whole SSTables expire together.
 * - `segment(pos, segment)`: every path node seen at each depth (1-based).
 * - `path(segment, length, path, id, has_data, has_children)`: one row per path and per prefix of a path, keyed by
 *   the parent prefix (`segment`, '' at the root) and the node count, so a glob expands level by level: the
 *   children of `servers` are the rows of partition ('servers', 2). Leaves carry the series id and has_data.
 * - `tagged(tag, value, name, id)`: tagged series by each tag value (the path is the `name` tag), so a tag query
 *   reads one partition per tag.
 */
import type { Resolution } from '@carillon/core';
import type { CassandraClient } from './client.js';
import { flatTable, PATH_TABLE, SEGMENT_TABLE, TAG_TABLE, type CassandraOptions } from './options.js';

/** TWCS windows of about 1/30 of the retention: few enough SSTables, each expiring as a whole. */
export function compactionWindow(ttlSeconds: number): { unit: 'MINUTES' | 'HOURS' | 'DAYS'; size: number } {
  const minutes = Math.max(1, Math.ceil(ttlSeconds / 30 / 60));
  if (minutes < 60) return { unit: 'MINUTES', size: minutes };
  const hours = Math.ceil(minutes / 60);
  if (hours < 48) return { unit: 'HOURS', size: hours };
  return { unit: 'DAYS', size: Math.ceil(hours / 24) };
}

function cqlMap(map: Record<string, string>): string {
  return `{${Object.entries(map)
    .map(([key, value]) => `'${key.replace(/'/g, "''")}': '${value.replace(/'/g, "''")}'`)
    .join(', ')}}`;
}

export function keyspaceCql(options: CassandraOptions): string {
  return `CREATE KEYSPACE IF NOT EXISTS ${options.keyspace} WITH replication = ${cqlMap(options.replication)}`;
}

export function flatTableCql(keyspace: string, resolution: Resolution): string {
  return timeSeriesTableCql(
    `${keyspace}.${flatTable(resolution)}`,
    'id bigint, time timestamp, min double, max double, sum double, first double, last double, count bigint, ' +
      'first_time bigint, last_time bigint, PRIMARY KEY (id, time)',
    'time',
    resolution,
  );
}

/**
 * A table of one resolution: clustered by time (`clustering`, ascending), the resolution's TTL as default and
 * TWCS windows from it (compactionWindow), so whole SSTables expire together. Flat and chunk tables are made so.
 */
export function timeSeriesTableCql(table: string, columns: string, clustering: string, resolution: Resolution): string {
  const window = compactionWindow(resolution.ttl);
  return (
    `CREATE TABLE IF NOT EXISTS ${table} (${columns}) ` +
    `WITH CLUSTERING ORDER BY (${clustering} ASC) ` +
    `AND default_time_to_live = ${resolution.ttl} ` +
    "AND compaction = {'class': 'TimeWindowCompactionStrategy', " +
    `'compaction_window_unit': '${window.unit}', 'compaction_window_size': '${window.size}'}`
  );
}

export function indexTablesCql(keyspace: string): string[] {
  return [
    `CREATE TABLE IF NOT EXISTS ${keyspace}.${SEGMENT_TABLE} (pos int, segment text, PRIMARY KEY (pos, segment))`,
    `CREATE TABLE IF NOT EXISTS ${keyspace}.${PATH_TABLE} (segment text, length int, path text, id bigint, ` +
      'has_data boolean, has_children boolean, PRIMARY KEY ((segment, length), path))',
    `CREATE TABLE IF NOT EXISTS ${keyspace}.${TAG_TABLE} (tag text, value text, name text, id bigint, ` +
      'PRIMARY KEY (tag, value, name))',
  ];
}

/** Every statement that makes the schema, in order. */
export function schemaCql(options: CassandraOptions): string[] {
  return [
    keyspaceCql(options),
    ...options.resolutions.map((resolution) => flatTableCql(options.keyspace, resolution)),
    ...indexTablesCql(options.keyspace),
  ];
}

/** Columns added to the flat tables after their first release: a table made before gets them at start. */
const ADDED_FLAT_COLUMNS: readonly [string, string][] = [
  ['first_time', 'bigint'],
  ['last_time', 'bigint'],
];

/** Creates the keyspace and tables that do not exist yet (idempotent; the driver waits for schema agreement). */
export async function ensureSchema(client: CassandraClient, options: CassandraOptions): Promise<void> {
  for (const statement of schemaCql(options)) await client.execute(statement);
  for (const resolution of options.resolutions) {
    const table = flatTable(resolution);
    const result = await client.execute(
      'SELECT column_name FROM system_schema.columns WHERE keyspace_name = ? AND table_name = ?',
      [options.keyspace, table],
      { prepare: true },
    );
    const have = new Set(result.rows.map((row) => row.get('column_name') as string));
    for (const [column, type] of ADDED_FLAT_COLUMNS)
      if (!have.has(column)) await client.execute(`ALTER TABLE ${options.keyspace}.${table} ADD ${column} ${type}`);
  }
}
