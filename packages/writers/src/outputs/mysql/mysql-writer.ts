/**
 * `mysql` (batched and connection-based, behind the catalogue's queue) for MySQL and MariaDB, after cadent's
 * mysql flat writer (layout in schema.ts). The queue hands over chunks of `batch_points` points, or what waited
 * `flush_interval` (cadent's `periodic_flush`); each chunk goes out as multi-row INSERTs of at most `batch_count`
 * rows (cadent's `batch_count`, kept below the server's max_allowed_packet), path rows first for series not known
 * to be in the path table. One connection, opened at the first delivery and after a failure not before the
 * backoff (`Reconnecting`); it creates the database and tables it writes. Every statement runs under
 * `write_timeout`. Rows are keyed (uid, time) and upserted, so a chunk delivered twice leaves the same rows.
 */
import { createConnection, escape, type Connection } from 'mysql2/promise';
import { ConfigError, configKey, seriesId, splitCanonical, type FlushBatch } from '@carillon/core';
import { WriterError, type ErrorKind } from '../errors.js';
import { Reconnecting } from '../connection.js';
import type { Delivery } from '../queued-writer.js';
import { defineWriterType } from '../writer-type.js';
import { createDatabaseSql, createMetricTableSql, createPathTableSql, isValidIdentifier } from './schema.js';
import { insertMetricsSql, insertPathsSql, metricRow, type MetricRow } from './rows.js';

export const MYSQL_WRITER_KEYS = {
  host: configKey.string({ key: 'host', default: '127.0.0.1', description: 'the MySQL/MariaDB server' }),
  port: configKey.integer({ key: 'port', default: 3306, min: 1, max: 65_535, description: 'its port' }),
  user: configKey.string({ key: 'user', default: 'root', description: 'the user the writer logs in as' }),
  password: configKey.string({ key: 'password', default: '', description: "that user's password (never logged)" }),
  database: configKey.string({
    key: 'database',
    default: 'carillon',
    description: 'created by the writer if missing; letters, digits and _',
  }),
  table: configKey.string({
    key: 'table',
    default: 'metrics',
    description: 'metric tables are <table>_<step>s, one per resolution, created by the writer',
  }),
  pathTable: configKey.string({
    key: 'path_table',
    default: 'metrics_path',
    description: 'the table naming each series once (uid, path), created by the writer',
  }),
  batchCount: configKey.integer({
    key: 'batch_count',
    default: 1_000,
    min: 1,
    max: 100_000,
    unit: 'values',
    description: 'rows per multi-row INSERT (a chunk of batch_points goes out as several)',
  }),
  pathCacheSize: configKey.integer({
    key: 'path_cache_size',
    default: 1_000_000,
    min: 1,
    unit: 'series',
    description: 'series remembered as present in the path table, so their path rows are not sent again',
  }),
} as const;

/** mysql2's error codes: a lost or refused connection, a timeout, else an error the server answered. */
export function mysqlErrorKind(error: unknown): ErrorKind {
  if (error instanceof WriterError) return error.kind;
  const e = error as { code?: string; fatal?: boolean; message?: string };
  if (e.code === 'PROTOCOL_SEQUENCE_TIMEOUT' || e.code === 'ETIMEDOUT' || /timeout/i.test(e.message ?? ''))
    return 'timeout';
  if (e.fatal === true || (e.code !== undefined && /^(E[A-Z]+|PROTOCOL_CONNECTION_LOST)$/.test(e.code)))
    return 'connect';
  return 'server';
}

export interface MysqlDeliveryOptions {
  name: string;
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  table: string;
  pathTable: string;
  batchCount: number;
  pathCacheSize: number;
  writeTimeoutMs: number;
  closeTimeoutMs: number;
  backoff: { baseMs: number; maxMs: number };
}

export interface MysqlDeliveryCounters {
  inserts: { inc(by?: number): void };
  paths: { inc(by?: number): void };
}

/** Names go into SQL text: only plain identifiers. */
function checkIdentifiers(values: { database: string; table: string; pathTable: string }): void {
  for (const [key, value] of [
    ['database', values.database],
    ['table', values.table],
    ['path_table', values.pathTable],
  ] as const)
    if (!isValidIdentifier(value))
      throw new ConfigError(key, `"${value}" must be a letter or _, then letters, digits or _, at most 48`);
}

export function mysqlDelivery(options: MysqlDeliveryOptions, counters: MysqlDeliveryCounters): Delivery {
  const o = options;
  const knownPaths = new Set<string>();
  const tablesMade = new Set<number>();
  const connection = new Reconnecting<Connection>({
    name: o.name,
    connectTimeoutMs: o.writeTimeoutMs,
    closeTimeoutMs: o.closeTimeoutMs,
    backoff: o.backoff,
    async connect() {
      const c = await createConnection({
        host: o.host,
        port: o.port,
        user: o.user,
        password: o.password,
        connectTimeout: o.writeTimeoutMs,
        enableKeepAlive: true,
      });
      // A connection that dies between deliveries says so here; the next statement fails and counts it.
      c.on('error', () => undefined);
      await c.query({ sql: createDatabaseSql(o.database), timeout: o.writeTimeoutMs });
      await c.query({ sql: createPathTableSql(o.database, o.pathTable), timeout: o.writeTimeoutMs });
      return c;
    },
    async disconnect(c) {
      await c.end().catch(() => c.destroy());
    },
  });

  async function insert(c: Connection, step: number, rows: readonly MetricRow[]): Promise<number> {
    if (!tablesMade.has(step)) {
      await c.query({ sql: createMetricTableSql(o.database, o.table, step), timeout: o.writeTimeoutMs });
      tablesMade.add(step);
    }
    let bytes = 0;
    const unknown = rows.filter((row) => !knownPaths.has(row.uid));
    if (unknown.length > 0) {
      const sql = insertPathsSql(o.database, o.pathTable, unknown);
      await c.query({ sql, timeout: o.writeTimeoutMs });
      counters.paths.inc(unknown.length);
      bytes += sql.length;
    }
    const sql = insertMetricsSql(
      o.database,
      o.table,
      step,
      rows.map((row) => row.tuple),
    );
    await c.query({ sql, timeout: o.writeTimeoutMs });
    counters.inserts.inc();
    // Bounded: past the size the cache starts again (path rows are idempotent, only sent again).
    if (knownPaths.size + unknown.length > o.pathCacheSize) knownPaths.clear();
    for (const row of unknown) knownPaths.add(row.uid);
    return bytes + sql.length;
  }

  return {
    async deliver(chunk) {
      const c = await connection.get();
      // Rows by resolution table, in flush order, each statement at most batch_count rows.
      const byStep = new Map<number, MetricRow[]>();
      for (const batch of chunk) {
        let rows = byStep.get(batch.resolution.step);
        if (!rows) byStep.set(batch.resolution.step, (rows = []));
        for (let i = 0; i < batch.names.length; i++) {
          const name = batch.names[i]!;
          const { path, tags } = splitCanonical(name);
          rows.push(metricRow(batch, i, seriesId(path, tags).toString(), escape(name)));
        }
      }
      let bytes = 0;
      try {
        for (const [step, rows] of byStep)
          for (let from = 0; from < rows.length; from += o.batchCount)
            bytes += await insert(c, step, rows.slice(from, from + o.batchCount));
      } catch (error) {
        const kind = mysqlErrorKind(error);
        if (kind !== 'server') connection.broken(c);
        // A table dropped under us is made again on the next attempt.
        if ((error as { code?: string }).code === 'ER_NO_SUCH_TABLE') tablesMade.clear();
        throw new WriterError(kind, `${o.name} (${o.host}:${o.port}): ${(error as Error).message}`, false, {
          cause: error,
        });
      }
      return bytes;
    },
    sizeOf(batch: FlushBatch) {
      return batch.names.reduce((n, name) => n + 2 * name.length, 0) + batch.names.length * 160;
    },
    close: () => connection.close(),
  };
}

export const MYSQL_WRITER = defineWriterType({
  type: 'mysql',
  archetypes: ['batched', 'connection'],
  description: 'MySQL/MariaDB: a table per resolution (<table>_<step>s) and a path table, multi-row INSERTs',
  keys: MYSQL_WRITER_KEYS,
  batching: { batchPoints: 5_000, flushInterval: '1s' },
  check: checkIdentifiers,
  open: (values, context) => {
    const m = context.registry;
    const counters = {
      inserts: m
        .counter('mysql_writer_inserts_total', 'multi-row INSERTs of metric rows stored', ['writer'])
        .labels(context.name),
      paths: m
        .counter('mysql_writer_paths_written_total', 'path rows sent for series not known', ['writer'])
        .labels(context.name),
    };
    return Promise.resolve(
      mysqlDelivery(
        {
          name: context.name,
          ...values,
          writeTimeoutMs: context.io.writeTimeoutMs,
          closeTimeoutMs: context.io.closeTimeoutMs,
          backoff: context.io.backoff,
        },
        counters,
      ),
    );
  },
});
