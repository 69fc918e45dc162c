/** The mysql writer against a real MariaDB: exact rows back, idempotent rewrites, batching, retries. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mysql from 'mysql2/promise';
import { makeBatch, MetricsRegistry, parseResolutions, seriesId, type FlushBatch } from '@carillon/core';
import { mysqlDelivery, type Delivery, type MysqlDeliveryOptions } from '@carillon/writers';
import { mysqlServer, uniqueName, type MysqlAddress } from '../../../test/harness/servers.js';
import { ownMariadb, type OwnServer } from '../../../test/harness/own-servers.js';
import { pointOfSamples as point } from '../../../test/support/stat-points.js';

const [fine, coarse] = parseResolutions(['10s:1h', '1m:1d']);
const now = Math.floor(Date.now() / 1000 / 60) * 60;

function options(address: MysqlAddress, overrides: Partial<MysqlDeliveryOptions> = {}): MysqlDeliveryOptions {
  return {
    name: 'mysql',
    ...address,
    database: uniqueName('mw'),
    table: 'metrics',
    pathTable: 'metrics_path',
    batchCount: 2,
    pathCacheSize: 1000,
    writeTimeoutMs: 2_000,
    closeTimeoutMs: 2_000,
    backoff: { baseMs: 50, maxMs: 200 },
    ...overrides,
  };
}

function open(o: MysqlDeliveryOptions, metrics = new MetricsRegistry()) {
  const counter = (name: string) => metrics.counter(name, name, ['writer']).labels('mysql');
  const delivery: Delivery = mysqlDelivery(o, {
    inserts: counter('mysql_writer_inserts_total'),
    paths: counter('mysql_writer_paths_written_total'),
  });
  return {
    write: (...batches: FlushBatch[]) => delivery.deliver(batches, AbortSignal.timeout(10_000)),
    close: () => delivery.close(),
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
    const writer = open(o, metrics);
    const a = point(now, [0.1, 0.2, 1e300]);
    const b = point(now, [-3, 1 / 3]);
    const c = point(now, [7]);
    const batch = makeBatch(fine!, now, [
      ['a.b', a],
      ['c;k=v', b],
      ['d', c],
    ]);
    await writer.write(batch);
    // Written again (a retry whose first attempt landed): still one row each, same values.
    await writer.write(batch, makeBatch(coarse!, now, [['a.b', a]]));
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
    expect(metrics.value('mysql_writer_inserts_total', 'mysql')).toBe(5);
    expect(metrics.value('mysql_writer_paths_written_total', 'mysql')).toBe(3);
    await writer.close();
  });

  describe('with a server that stops', () => {
    let server: OwnServer;
    beforeAll(async () => {
      server = await ownMariadb();
    }, 120_000);
    afterAll(() => server?.close());

    it('fails a delivery while the server is down, and delivers after it returns', { timeout: 120_000 }, async () => {
      const metrics = new MetricsRegistry();
      const o = options({ host: server.host, port: server.port, user: 'root', password: '' });
      const writer = open(o, metrics);
      await server.stop();
      const batch = makeBatch(fine!, now, [
        ['x', point(now, [1])],
        ['y', point(now, [2])],
        ['z', point(now, [3])],
      ]);
      await expect(writer.write(batch)).rejects.toMatchObject({ name: 'WriterError', kind: 'connect' });
      expect(metrics.value('mysql_writer_inserts_total', 'mysql')).toBe(0);
      await server.launch();
      const deadline = Date.now() + 30_000;
      let written = false;
      while (!written && Date.now() < deadline) {
        await new Promise((done) => setTimeout(done, 100));
        written = await writer.write(batch).then(
          () => true,
          () => false,
        );
      }
      expect(written).toBe(true);
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
