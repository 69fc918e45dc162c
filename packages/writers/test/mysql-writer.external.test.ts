/** The mysql writer against a real MariaDB: exact rows back, idempotent rewrites, batching, retries. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mysql from 'mysql2/promise';
import { makeBatch, MetricsRegistry, parseResolutions, seriesId } from '@carillon/core';
import { MysqlWriter, type MysqlWriterOptions } from '@carillon/writers';
import { mysqlServer, uniqueName, type MysqlAddress } from '../../../test/harness/servers.js';
import { ownMariadb, type OwnServer } from '../../../test/harness/own-servers.js';
import { pointOfSamples as point } from '../../../test/support/stat-points.js';

const [fine, coarse] = parseResolutions(['10s:1h', '1m:1d']);
const now = Math.floor(Date.now() / 1000 / 60) * 60;

function options(address: MysqlAddress, overrides: Partial<MysqlWriterOptions> = {}): MysqlWriterOptions {
  return {
    name: 'mysql',
    ...address,
    database: uniqueName('mw'),
    table: 'metrics',
    pathTable: 'metrics_path',
    batchCount: 2,
    periodicFlushMs: 100,
    maxPendingRows: 10_000,
    connections: 2,
    connectTimeoutMs: 1_000,
    queryTimeoutMs: 5_000,
    backoffMinMs: 50,
    backoffMaxMs: 200,
    pathCacheSize: 1000,
    ...overrides,
  };
}

describe('MysqlWriter', () => {
  let address: MysqlAddress;
  let sql: mysql.Connection;
  const databases: string[] = [];
  beforeAll(async () => {
    address = await mysqlServer();
    sql = await mysql.createConnection({ ...address, supportBigNumbers: true, bigNumberStrings: true });
  });
  afterAll(async () => {
    for (const database of databases) await sql?.query(`DROP DATABASE IF EXISTS ${database}`);
    sql?.destroy();
  });

  it('stores every StatPoint exactly, one row per (series, window), in multi-row INSERTs', async () => {
    const metrics = new MetricsRegistry();
    const o = options(address);
    databases.push(o.database);
    const writer = new MysqlWriter(o, { metrics });
    const a = point(now, [0.1, 0.2, 1e300]);
    const b = point(now, [-3, 1 / 3]);
    const c = point(now, [7]);
    const batch = makeBatch(fine!, now, [
      ['a.b', a],
      ['c;k=v', b],
      ['d', c],
    ]);
    expect(await writer.write(batch)).toBeUndefined();
    // Written again (a retry whose first attempt landed): still one row each, same values.
    expect(await writer.write(batch)).toBeUndefined();
    expect(await writer.write(makeBatch(coarse!, now, [['a.b', a]]))).toBeUndefined();
    const [rows] = await sql.query(
      `SELECT uid, path, sum, min, max, first, last, count, resolution, time FROM ${o.database}.metrics_10s ORDER BY path`,
    );
    const row = (name: string, p: typeof a) => {
      const [path, tag] = name.split(';');
      return {
        uid: seriesId(path!, tag ? [tag.split('=') as [string, string]] : []).toString(),
        path: name,
        sum: p.sum,
        min: p.min,
        max: p.max,
        first: p.first,
        last: p.last,
        count: p.count,
        resolution: 10,
        time: String(now),
      };
    };
    expect(rows).toEqual([row('a.b', a), row('c;k=v', b), row('d', c)]);
    const [coarseRows] = await sql.query(`SELECT path, resolution FROM ${o.database}.metrics_60s`);
    expect(coarseRows).toEqual([{ path: 'a.b', resolution: 60 }]);
    const [paths] = await sql.query(`SELECT uid, path FROM ${o.database}.metrics_path ORDER BY path`);
    expect(paths).toEqual([row('a.b', a), row('c;k=v', b), row('d', c)].map(({ uid, path }) => ({ uid, path })));
    // 3 rows in INSERTs of 2, twice, and the coarse one.
    expect(metrics.value('mysql_writer_rows_written_total', 'mysql')).toBe(7);
    expect(metrics.value('mysql_writer_inserts_total', 'mysql')).toBe(5);
    expect(metrics.value('mysql_writer_paths_written_total', 'mysql')).toBe(3);
    await writer.close();
  });

  it('writes rows short of a full INSERT after the periodic flush', async () => {
    const metrics = new MetricsRegistry();
    const o = options(address, { batchCount: 1000, periodicFlushMs: 300 });
    databases.push(o.database);
    const writer = new MysqlWriter(o, { metrics });
    const started = Date.now();
    await writer.write(makeBatch(fine!, now, [['lonely', point(now, [1])]]));
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    const [rows] = await sql.query(`SELECT sum FROM ${o.database}.metrics_10s`);
    expect(rows).toEqual([{ sum: 1 }]);
    await writer.close();
  });

  describe('with a server that stops', () => {
    let server: OwnServer;
    beforeAll(async () => {
      server = await ownMariadb();
    }, 120_000);
    afterAll(() => server?.close());

    it('hands the series back while it is down, then writes them', { timeout: 120_000 }, async () => {
      const metrics = new MetricsRegistry();
      const o = options({ host: server.host, port: server.port, user: 'root', password: '' });
      const writer = new MysqlWriter(o, { metrics });
      await server.stop();
      const batch = makeBatch(fine!, now, [
        ['x', point(now, [1])],
        ['y', point(now, [2])],
        ['z', point(now, [3])],
      ]);
      const outcome = await writer.write(batch);
      expect(outcome?.retry?.names).toEqual(['x', 'y', 'z']);
      expect(metrics.value('mysql_writer_errors_total', 'mysql', 'connection')).toBeGreaterThan(0);
      // While backing off, a write does not even try.
      await server.launch();
      let again = outcome?.retry;
      const deadline = Date.now() + 30_000;
      while (again && Date.now() < deadline) {
        await new Promise((done) => setTimeout(done, 100));
        again = (await writer.write(again))?.retry;
      }
      expect(again).toBeUndefined();
      const check = await mysql.createConnection({ host: server.host, port: server.port, user: 'root' });
      const [rows] = await check.query(`SELECT path, sum FROM ${o.database}.metrics_10s ORDER BY path`);
      expect(rows).toEqual([
        { path: 'x', sum: 1 },
        { path: 'y', sum: 2 },
        { path: 'z', sum: 3 },
      ]);
      check.destroy();
      await writer.close();
    });
  });
});
