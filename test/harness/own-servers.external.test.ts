/** The servers a test owns: they stop and start again on the same port with their data, and Prometheus scrapes. */
import { createServer, type Server } from 'node:http';
import { afterAll, describe, expect, it } from 'vitest';
import mysql from 'mysql2/promise';
import { Redis } from 'ioredis';
import { ownMariadb, ownPrometheus, ownRedis, type OwnServer } from './own-servers.js';
import { waitFor } from '../support/wait.js';

const owned: OwnServer[] = [];
afterAll(async () => {
  await Promise.all(owned.map((server) => server.close()));
});

describe('own servers', () => {
  it('a MariaDB keeps its data across stop and launch on the same port', { timeout: 180_000 }, async () => {
    const server = await ownMariadb();
    owned.push(server);
    const connect = (): Promise<mysql.Connection> =>
      mysql.createConnection({ host: server.host, port: server.port, user: 'root', connectTimeout: 5_000 });
    let connection = await connect();
    await connection.query('CREATE DATABASE kept');
    await connection.query('CREATE TABLE kept.t (v INT)');
    await connection.query('INSERT INTO kept.t VALUES (7)');
    connection.destroy();
    await server.stop();
    await expect(connect()).rejects.toThrow();
    await server.launch();
    connection = await connect();
    const [rows] = await connection.query('SELECT v FROM kept.t');
    expect(rows).toEqual([{ v: 7 }]);
    connection.destroy();
  });

  it('a Redis refuses while stopped and answers after launch', { timeout: 60_000 }, async () => {
    const server = await ownRedis();
    owned.push(server);
    await server.stop();
    const redis = new Redis({ host: server.host, port: server.port, lazyConnect: true, retryStrategy: () => null });
    redis.on('error', () => undefined);
    await expect(redis.connect()).rejects.toThrow();
    await server.launch();
    const again = new Redis({ host: server.host, port: server.port, connectTimeout: 5_000 });
    expect(await again.ping()).toBe('PONG');
    again.disconnect();
    redis.disconnect();
  });

  it('Prometheus scrapes a target and answers a query for its value', { timeout: 120_000 }, async () => {
    const exporter: Server = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      response.end('# TYPE harness_value gauge\nharness_value{k="v"} 42.5\n');
    });
    await new Promise<void>((done) => exporter.listen(0, '127.0.0.1', done));
    const address = exporter.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const prometheus = await ownPrometheus({ targets: [`127.0.0.1:${port}`] });
    owned.push(prometheus);
    try {
      let value: { metric: Record<string, string>; value: [number, string] } | undefined;
      await waitFor(
        'a scraped sample',
        async () => {
          const response = await fetch(`${prometheus.url}/api/v1/query?query=harness_value`);
          const body = (await response.json()) as {
            data: { result: { metric: Record<string, string>; value: [number, string] }[] };
          };
          value = body.data.result[0];
          return value !== undefined;
        },
        60_000,
        250,
      );
      expect(value!.metric).toMatchObject({ __name__: 'harness_value', k: 'v', job: 'carillon' });
      expect(value!.value[1]).toBe('42.5');
    } finally {
      exporter.close();
    }
  });
});
