/**
 * carillon with the `mysql` writer, end to end: known Graphite and StatsD traffic in, every row back with SQL
 * SELECT from the real MariaDB/MySQL: one row per series and window in `<table>_<step>s`, the path table, exactly.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mysql from 'mysql2/promise';
import { seriesId, splitCanonical } from '@carillon/core';
import { mysqlServer, uniqueName, type MysqlAddress } from '../harness/servers.js';
import { metricValue, sendKnownTraffic, startCarillon, untilSettled, type Carillon } from './carillon.js';

interface Row {
  uid: string;
  path: string;
  sum: number;
  min: number;
  max: number;
  first: number;
  last: number;
  count: number;
  resolution: number;
  time: string;
}

describe('mysql writer end to end', () => {
  const database = uniqueName('e2e_mysql');
  let address: MysqlAddress;
  let sql: mysql.Connection;
  let carillon: Carillon;

  beforeAll(async () => {
    address = await mysqlServer();
    sql = await mysql.createConnection({ ...address, supportBigNumbers: true, bigNumberStrings: true });
    carillon = await startCarillon(
      [
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
    );
  });

  afterAll(async () => {
    await carillon?.stop();
    await sql?.query(`DROP DATABASE IF EXISTS ${database}`);
    sql?.destroy();
  });

  it('stores one row per series and window at each resolution, exactly', { timeout: 60_000 }, async () => {
    const prefix = uniqueName('e2e');
    const traffic = await sendKnownTraffic(carillon, prefix);
    await untilSettled(traffic);
    const uid = (name: string): string => {
      const { path, tags } = splitCanonical(name);
      return seriesId(path, tags).toString();
    };
    for (const step of [2, 10]) {
      const [rows] = await sql.query(
        `SELECT uid, path, sum, min, max, first, last, count, resolution, time FROM ${database}.metrics_${step}s ` +
          'WHERE path LIKE ? ORDER BY path, time',
        [`${prefix}.%`],
      );
      const expected = traffic.graphite
        .filter((e) => e.step === step)
        .map((e): Row => ({
          uid: uid(e.name),
          path: e.name,
          sum: e.point.sum,
          min: e.point.min,
          max: e.point.max,
          first: e.point.first,
          last: e.point.last,
          count: e.point.count,
          resolution: step,
          time: String(e.point.time),
        }))
        .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : Number(a.time) - Number(b.time)));
      expect(rows).toEqual(expected);
      const [counter] = await sql.query(`SELECT sum, count FROM ${database}.metrics_${step}s WHERE path = ?`, [
        traffic.statsd.counter,
      ]);
      expect(counter).toEqual([{ sum: traffic.statsd.counterValue, count: 1 }]);
      const [gauge] = await sql.query(`SELECT last FROM ${database}.metrics_${step}s WHERE path = ?`, [
        traffic.statsd.gauge,
      ]);
      expect(gauge).toEqual([{ last: traffic.statsd.gaugeValue }]);
    }
    const names = [...new Set(traffic.graphite.map((e) => e.name)), traffic.statsd.counter, traffic.statsd.gauge];
    const [paths] = await sql.query(`SELECT uid, path FROM ${database}.metrics_path WHERE path IN (?) ORDER BY path`, [
      names,
    ]);
    expect(paths).toEqual(names.sort().map((path) => ({ uid: uid(path), path })));
    const metrics = await carillon.metrics();
    expect(metricValue(metrics, 'carillon_mysql_writer_inserts_total', '{writer="mysql"}')).toBeGreaterThan(0);
    expect(metricValue(metrics, 'carillon_writer_dropped_points_total', '{writer="mysql",reason="refused"}')).toBe(0);
  });
});
