/**
 * The `mysql` writer (batched and connection-based) for MySQL and MariaDB. Rows wait in one queue per resolution
 * table and go out as multi-row INSERTs of `batchCount` rows as soon as that many wait, and every
 * `periodicFlushMs` whatever waits; a write resolves once all its rows are stored or handed back to retry.
 * The pool connects at the first statement; a connection failure blocks statements for a doubling backoff (up to
 * `backoffMaxMs`) during which writes hand their series back at once; every statement has `queryTimeoutMs`.
 * The database and tables are created by the writer (schema.ts) before its first insert.
 */
import { createPool, escape, type Pool } from 'mysql2/promise';
import { seriesId, splitCanonical, subsetBatch } from '@carillon/core';
import type { FlushBatch, Logger, MetricsRegistry, WriteOutcome, Writer } from '@carillon/core';
import { createDatabaseSql, createMetricTableSql, createPathTableSql } from './schema.js';
import { insertMetricsSql, insertPathsSql, metricRow, type MetricRow } from './rows.js';

export interface MysqlWriterOptions {
  name: string;
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  /** Metric tables are `<table>_<step>s`. */
  table: string;
  pathTable: string;
  /** Rows per INSERT. */
  batchCount: number;
  /** Rows waiting fewer than `batchCount` are written after at most this long. */
  periodicFlushMs: number;
  /** Rows waiting in the queues at most; a write past it hands its series back to retry (counted). */
  maxPendingRows: number;
  /** Statements in flight at once (pool connections). */
  connections: number;
  connectTimeoutMs: number;
  queryTimeoutMs: number;
  backoffMinMs: number;
  backoffMaxMs: number;
  /** Series ids remembered as present in the path table, so their path rows are not sent again. */
  pathCacheSize: number;
}

export interface MysqlWriterDeps {
  metrics: MetricsRegistry;
  logger?: Logger;
}

type ErrorKind = 'connection' | 'timeout' | 'server';

/** One write's rows: it resolves when none is left in flight. */
interface Ticket {
  batch: FlushBatch;
  remaining: number;
  failed: number[];
  resolve: (outcome: WriteOutcome | void) => void;
}

interface Pending {
  row: MetricRow;
  ticket: Ticket;
  index: number;
}

interface TableQueue {
  step: number;
  rows: Pending[];
}

export function mysqlErrorKind(error: unknown): ErrorKind {
  const e = error as { code?: string; fatal?: boolean; message?: string };
  if (e.code === 'PROTOCOL_SEQUENCE_TIMEOUT' || /timeout/i.test(e.message ?? '')) return 'timeout';
  if (e.fatal || (e.code !== undefined && /^(E[A-Z]+|PROTOCOL_CONNECTION_LOST|POOL_CLOSED)$/.test(e.code)))
    return 'connection';
  return 'server';
}

export class MysqlWriter implements Writer {
  readonly name: string;
  private readonly pool: Pool;
  private readonly queues = new Map<number, TableQueue>();
  private pendingRows = 0;
  private readonly knownPaths = new Set<string>();
  private schema: Promise<void> | undefined;
  private readonly tablesMade = new Set<number>();
  private blockedUntil = 0;
  private backoffMs: number;
  private readonly timer: NodeJS.Timeout;
  private readonly inFlight = new Set<Promise<void>>();
  private closed = false;
  private lastErrorLog = 0;
  private readonly counters;

  constructor(
    private readonly options: MysqlWriterOptions,
    private readonly deps: MysqlWriterDeps,
  ) {
    this.name = options.name;
    this.backoffMs = options.backoffMinMs;
    this.pool = createPool({
      host: options.host,
      port: options.port,
      user: options.user,
      password: options.password,
      connectTimeout: options.connectTimeoutMs,
      connectionLimit: options.connections,
      // Our own queues are the bounded buffer; the pool only waits for a free connection.
      waitForConnections: true,
      queueLimit: 0,
      enableKeepAlive: true,
      multipleStatements: false,
    });
    // A dropped idle connection emits here; the next statement finds out and counts it.
    this.pool.pool.on('error', () => undefined);
    const m = deps.metrics;
    const w = options.name;
    const errors = m.counter('mysql_writer_errors_total', 'failed statements by kind', ['writer', 'kind']);
    this.counters = {
      rows: m.counter('mysql_writer_rows_written_total', 'metric rows stored', ['writer']).labels(w),
      statements: m
        .counter('mysql_writer_inserts_total', 'multi-row INSERTs of metric rows stored', ['writer'])
        .labels(w),
      paths: m.counter('mysql_writer_paths_written_total', 'path rows sent for series not known', ['writer']).labels(w),
      retried: m
        .counter('mysql_writer_points_retry_total', 'StatPoints handed back to be written again', ['writer'])
        .labels(w),
      full: m
        .counter('mysql_writer_queue_full_total', 'StatPoints handed back because the row queue was full', ['writer'])
        .labels(w),
      errors: {
        connection: errors.labels(w, 'connection'),
        timeout: errors.labels(w, 'timeout'),
        server: errors.labels(w, 'server'),
      } satisfies Record<ErrorKind, { inc(by?: number): void }>,
    };
    m.gauge('mysql_writer_pending_rows', 'metric rows waiting for an INSERT', ['writer'], (gauge) =>
      gauge.labels(w).set(this.pendingRows),
    );
    this.timer = setInterval(() => this.flush(false), options.periodicFlushMs);
    this.timer.unref();
  }

  write(batch: FlushBatch): Promise<WriteOutcome | void> {
    const n = batch.names.length;
    if (n === 0) return Promise.resolve();
    if (this.closed) return Promise.resolve({ retry: batch });
    if (Date.now() < this.blockedUntil) {
      this.counters.retried.inc(n);
      return Promise.resolve({ retry: batch });
    }
    if (this.pendingRows + n > this.options.maxPendingRows) {
      this.counters.full.inc(n);
      this.counters.retried.inc(n);
      return Promise.resolve({ retry: batch });
    }
    return new Promise((resolve) => {
      const ticket: Ticket = { batch, remaining: n, failed: [], resolve };
      const step = batch.resolution.step;
      let queue = this.queues.get(step);
      if (!queue) this.queues.set(step, (queue = { step, rows: [] }));
      for (let i = 0; i < n; i++) {
        const name = batch.names[i]!;
        const { path, tags } = splitCanonical(name);
        const uid = seriesId(path, tags).toString();
        queue.rows.push({ row: metricRow(batch, i, uid, escape(name)), ticket, index: i });
      }
      this.pendingRows += n;
      this.flush(true);
    });
  }

  /** Sends full INSERTs at once; with `onlyFull` false (the timer, close) whatever waits too. */
  private flush(onlyFull: boolean): void {
    const size = this.options.batchCount;
    for (const queue of this.queues.values()) {
      while (queue.rows.length >= size || (!onlyFull && queue.rows.length > 0)) {
        const chunk = queue.rows.splice(0, size);
        this.pendingRows -= chunk.length;
        const sent = this.insert(queue.step, chunk).finally(() => this.inFlight.delete(sent));
        this.inFlight.add(sent);
      }
    }
  }

  private async insert(step: number, chunk: Pending[]): Promise<void> {
    let ok = false;
    try {
      if (Date.now() < this.blockedUntil)
        throw Object.assign(new Error('backing off after a connection failure'), { code: 'EBACKOFF' });
      await this.ensureSchema(step);
      const o = this.options;
      const unknown = chunk.map((p) => p.row).filter((row) => !this.knownPaths.has(row.uid));
      if (unknown.length > 0) {
        await this.pool.query({ sql: insertPathsSql(o.database, o.pathTable, unknown), timeout: o.queryTimeoutMs });
        this.counters.paths.inc(unknown.length);
      }
      const tuples = chunk.map((p) => p.row.tuple);
      await this.pool.query({ sql: insertMetricsSql(o.database, o.table, step, tuples), timeout: o.queryTimeoutMs });
      this.counters.rows.inc(chunk.length);
      this.counters.statements.inc();
      // Bounded: past the size the cache starts again (path rows are idempotent, only resent).
      if (this.knownPaths.size + unknown.length > o.pathCacheSize) this.knownPaths.clear();
      for (const row of unknown) this.knownPaths.add(row.uid);
      this.backoffMs = o.backoffMinMs;
      ok = true;
    } catch (error) {
      this.failed(error);
    }
    for (const pending of chunk) {
      const ticket = pending.ticket;
      if (!ok) ticket.failed.push(pending.index);
      if (--ticket.remaining === 0) this.settle(ticket);
    }
  }

  private settle(ticket: Ticket): void {
    if (ticket.failed.length === 0) return ticket.resolve();
    this.counters.retried.inc(ticket.failed.length);
    ticket.failed.sort((a, b) => a - b);
    ticket.resolve({ retry: subsetBatch(ticket.batch, ticket.failed) });
  }

  private failed(error: unknown): void {
    if ((error as { code?: string }).code === 'EBACKOFF') return;
    const kind = mysqlErrorKind(error);
    this.counters.errors[kind].inc();
    if (kind !== 'server') {
      this.blockedUntil = Date.now() + this.backoffMs;
      this.backoffMs = Math.min(this.backoffMs * 2, this.options.backoffMaxMs);
    }
    const now = Date.now();
    if (now - this.lastErrorLog >= 60_000) {
      this.lastErrorLog = now;
      this.deps.logger?.warn(
        { writer: this.name, host: this.options.host, port: this.options.port, kind, err: (error as Error).message },
        'mysql writer: insert failed; the series are retried',
      );
    }
  }

  /** The database, the path table and this resolution's table, created once (again after a failure). */
  private async ensureSchema(step: number): Promise<void> {
    const o = this.options;
    this.schema ??= (async () => {
      await this.pool.query({ sql: createDatabaseSql(o.database), timeout: o.queryTimeoutMs });
      await this.pool.query({ sql: createPathTableSql(o.database, o.pathTable), timeout: o.queryTimeoutMs });
    })().catch((error: unknown) => {
      this.schema = undefined;
      throw error;
    });
    await this.schema;
    if (this.tablesMade.has(step)) return;
    await this.pool.query({ sql: createMetricTableSql(o.database, o.table, step), timeout: o.queryTimeoutMs });
    this.tablesMade.add(step);
  }

  /** Writes whatever waits, waits for it, and closes the pool. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    this.blockedUntil = 0;
    this.flush(false);
    while (this.inFlight.size > 0) await Promise.all(this.inFlight);
    await this.pool.end().catch(() => undefined);
  }
}
