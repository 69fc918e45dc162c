/**
 * carillon with the `mysql` writer, end to end (scenario.ts): known Graphite and StatsD traffic in under CPU
 * contention, every row back with SQL SELECT from the real MariaDB/MySQL: one row per series and window in
 * `<table>_<step>s` with the series id, exactly, and the path table.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mysql from 'mysql2/promise';
import { seriesId, splitCanonical } from '@carillon/core';
import { mysqlServer, uniqueName, type MysqlAddress } from '../harness/servers.js';
import { readRows } from './mysql-read.js';
import { metricValue } from '../e2e/programs.js';
import { checkCounters, checkRecords, runScenario, STATSD, type ScenarioRun, STATSD_STATPOINTS } from './scenario.js';

const uid = (name: string): string => {
  const { path, tags } = splitCanonical(name);
  return seriesId(path, tags).toString();
};

describe('mysql writer end to end', () => {
  const database = uniqueName('e2e_mysql');
  let address: MysqlAddress;
  let run: ScenarioRun;

  beforeAll(async () => {
    address = await mysqlServer();
    run = await runScenario({
      bulk: 100,
      settle: true,
      writersToml: [
        '[[writers]]',
        'type = "mysql"',
        `host = "${address.host}"`,
        `port = ${address.port}`,
        `user = "${address.user}"`,
        `password = "${address.password}"`,
        `database = "${database}"`,
        'batch_count = 3',
        'flush_interval = "200ms"',
      ].join('\n'),
    });
  }, 120_000);

  afterAll(async () => {
    if (address === undefined) return;
    const sql = await mysql.createConnection(address);
    await sql.query(`DROP DATABASE IF EXISTS ${database}`);
    sql.destroy();
  });

  it('stores one row per series and window at each resolution, with its series id, exactly', async () => {
    expect(run.exitCode, run.output).toBe(0);
    const rows = await readRows(address, database);
    checkRecords(rows, run);
    expect(rows.filter((r) => r.uid !== uid(r.name)).map((r) => r.name)).toEqual([]);
    checkCounters(run.metricsBeforeStop, 'mysql', run.expected.length + STATSD_STATPOINTS);
    expect(
      metricValue(run.metricsBeforeStop, 'carillon_mysql_writer_inserts_total', '{writer="mysql"}'),
    ).toBeGreaterThan(0);
    expect(
      metricValue(run.metricsBeforeStop, 'carillon_writer_dropped_points_total', '{writer="mysql",reason="refused"}'),
    ).toBe(0);
  });

  it('keeps one path row per series', async () => {
    const names = [...new Set(run.expected.map((e) => e.name)), STATSD.counter, STATSD.gauge];
    const sql = await mysql.createConnection({ ...address, supportBigNumbers: true, bigNumberStrings: true });
    try {
      const [paths] = await sql.query(
        `SELECT uid, path FROM ${database}.metrics_path WHERE path IN (?) ORDER BY path`,
        [names],
      );
      expect(paths).toEqual(names.sort().map((path) => ({ uid: uid(path), path })));
    } finally {
      sql.destroy();
    }
  });
});
