/**
 * The mysql writer's fault test: its own mariadbd is stopped for 60 s under steady traffic and started again.
 * Nothing is lost within the bounds (one exact row per series and window at every resolution), the outage is
 * counted, and a second mysql writer (the shared server) goes on at its pace meanwhile.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mysql from 'mysql2/promise';
import { mysqlServer, uniqueName, type MysqlAddress } from '../harness/servers.js';
import { ownMariadb, type OwnServer } from '../harness/own-servers.js';
import { startCarillon, type Carillon } from './carillon.js';
import { eventually, expectFaultCounted, runFault, type Window } from './fault.js';

async function missing(address: MysqlAddress, database: string, windows: Window[]): Promise<string[]> {
  const sql = await mysql.createConnection({ ...address, supportBigNumbers: true, bigNumberStrings: true });
  try {
    const stored = new Map<string, string>();
    for (const step of new Set(windows.map((w) => w.step))) {
      const [rows] = await sql.query(
        `SELECT path, time, sum, min, max, first, last, count FROM ${database}.metrics_${step}s`,
      );
      for (const row of rows as Record<string, unknown>[]) {
        const { path, time, ...values } = row;
        stored.set(`${String(path)} ${step} ${String(time)}`, JSON.stringify(values));
      }
    }
    const problems: string[] = [];
    for (const w of windows) {
      const { sum, min, max, first, last, count } = w.point;
      const key = `${w.name} ${w.step} ${w.point.time}`;
      if (stored.get(key) !== JSON.stringify({ sum, min, max, first, last, count }))
        problems.push(`${key}: ${stored.get(key)}`);
    }
    return problems;
  } finally {
    sql.destroy();
  }
}

describe('mysql writer under a 60 s outage', () => {
  const faultyDb = uniqueName('fault');
  const healthyDb = uniqueName('healthy');
  let server: OwnServer;
  let shared: MysqlAddress;
  let carillon: Carillon;

  beforeAll(async () => {
    server = await ownMariadb();
    shared = await mysqlServer();
    const entry = (name: string, address: MysqlAddress, database: string): string =>
      [
        '[[writers]]',
        'type = "mysql"',
        `name = "${name}"`,
        `host = "${address.host}"`,
        `port = ${address.port}`,
        `user = "${address.user}"`,
        `password = "${address.password}"`,
        `database = "${database}"`,
        'flush_interval = "200ms"',
        'write_timeout = "2s"',
        'retry_backoff_max = "2s"',
        // The bound this test stays within: retries enough to outlast the outage.
        'max_retries = 1000',
      ].join('\n');
    carillon = await startCarillon(
      [
        entry('faulty', { host: server.host, port: server.port, user: 'root', password: '' }, faultyDb),
        entry('healthy', shared, healthyDb),
      ].join('\n'),
    );
  }, 180_000);

  afterAll(async () => {
    await carillon?.stop();
    await server?.close();
    const sql = await mysql.createConnection(shared);
    await sql.query(`DROP DATABASE IF EXISTS ${healthyDb}`);
    sql.destroy();
  });

  it('loses nothing, counts the outage, and leaves the other writer alone', { timeout: 240_000 }, async () => {
    const run = await runFault({ carillon, server, prefix: uniqueName('f'), faulty: 'faulty', healthy: 'healthy' });
    expectFaultCounted(run);
    const own = { host: server.host, port: server.port, user: 'root', password: '' };
    // The faulty writer may still be working through its backlog: give it a bounded while.
    expect(await eventually(() => missing(own, faultyDb, run.windows))).toEqual([]);
    expect(await eventually(() => missing(shared, healthyDb, run.windows))).toEqual([]);
  });
});
