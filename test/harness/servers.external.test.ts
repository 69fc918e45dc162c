/**
 * Smoke tests: each real server the harness provides answers real client calls.
 * They also print how each server was obtained and how long it took to start.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import cassandraDriver from 'cassandra-driver';
import { Kafka, logLevel } from 'kafkajs';
import { Redis } from 'ioredis';
import mysql from 'mysql2/promise';
import {
  cassandra,
  kafkaBrokers,
  mysqlServer,
  redisUrl,
  serverState,
  uniqueKeyspace,
  uniqueName,
  uniqueTopic,
} from './servers.js';

async function report(name: 'cassandra' | 'kafka' | 'redis' | 'mariadb', address: string): Promise<void> {
  const state = await serverState(name);
  const how = state
    ? `${state.source}, started in ${((state.startMs ?? 0) / 1000).toFixed(1)} s`
    : 'given or already running';
  console.info(`[harness] ${name} at ${address} (${how})`);
}

describe('Cassandra', () => {
  let client: cassandraDriver.Client;
  const keyspace = uniqueKeyspace('harness');
  const seriesId = cassandraDriver.types.Long.fromString('-6942109823563431007');

  beforeAll(async () => {
    const address = await cassandra();
    await report('cassandra', address.contactPoints.join(','));
    client = new cassandraDriver.Client({
      contactPoints: address.contactPoints,
      localDataCenter: address.localDataCenter,
      socketOptions: { connectTimeout: 10_000, readTimeout: 20_000 },
    });
    await client.connect();
  });

  afterAll(async () => {
    await client?.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`).catch(() => undefined);
    await client?.shutdown();
  });

  it('creates a keyspace and a table, writes a row and reads it back', async () => {
    await client.execute(
      `CREATE KEYSPACE ${keyspace} WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}`,
    );
    await client.execute(`CREATE TABLE ${keyspace}.points (id bigint, time int, value double, PRIMARY KEY (id, time))`);
    await client.execute(
      `INSERT INTO ${keyspace}.points (id, time, value) VALUES (?, ?, ?)`,
      [seriesId, 1_700_000_000, 1.5],
      {
        prepare: true,
      },
    );
    const result = await client.execute(`SELECT time, value FROM ${keyspace}.points WHERE id = ?`, [seriesId], {
      prepare: true,
    });
    expect(result.rows.map((row) => [row.get('time'), row.get('value')])).toEqual([[1_700_000_000, 1.5]]);
  });
});

// Servers are asked for in beforeAll: the first ask in a run may start one, which can outlast a test's timeout.
describe('Kafka', () => {
  let brokers: string[];

  beforeAll(async () => {
    brokers = await kafkaBrokers();
    await report('kafka', brokers.join(','));
  });

  it('creates a topic, produces a message and consumes it', async () => {
    const kafka = new Kafka({
      clientId: 'carillon-harness-test',
      brokers,
      connectionTimeout: 5_000,
      requestTimeout: 10_000,
      logLevel: logLevel.NOTHING,
    });
    const topic = uniqueTopic('harness');
    const admin = kafka.admin();
    const producer = kafka.producer();
    const consumer = kafka.consumer({ groupId: uniqueName('harness', '-'), sessionTimeout: 10_000 });
    try {
      await admin.connect();
      expect(
        await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true, timeout: 10_000 }),
      ).toBe(true);
      await producer.connect();
      await producer.send({ topic, messages: [{ key: 'series-1', value: 'hello carillon' }], timeout: 10_000 });

      await consumer.connect();
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      const received = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no message on ${topic} within 20 s`)), 20_000);
        void consumer.run({
          eachMessage: async ({ message }) => {
            clearTimeout(timer);
            resolve(`${message.key?.toString()}=${message.value?.toString()}`);
          },
        });
      });
      expect(received).toBe('series-1=hello carillon');
    } finally {
      await consumer.disconnect().catch(() => undefined);
      await producer.disconnect().catch(() => undefined);
      await admin.deleteTopics({ topics: [topic], timeout: 10_000 }).catch(() => undefined);
      await admin.disconnect().catch(() => undefined);
    }
  });
});

describe('Redis', () => {
  let url: string;

  beforeAll(async () => {
    url = await redisUrl();
    await report('redis', url);
  });

  it('sets and gets a key', async () => {
    const redis = new Redis(url, { connectTimeout: 5_000, commandTimeout: 5_000, maxRetriesPerRequest: 1 });
    const key = uniqueName('harness:key');
    try {
      await redis.set(key, 'value', 'EX', 60);
      expect(await redis.get(key)).toBe('value');
    } finally {
      await redis.del(key).catch(() => undefined);
      redis.disconnect();
    }
  });
});

describe('MariaDB', () => {
  let connection: mysql.Connection;
  const database = uniqueName('harness');

  beforeAll(async () => {
    const address = await mysqlServer();
    await report('mariadb', `${address.host}:${address.port}`);
    connection = await mysql.createConnection({ ...address, connectTimeout: 10_000 });
  });

  afterAll(async () => {
    await connection?.query(`DROP DATABASE IF EXISTS ${database}`).catch(() => undefined);
    connection?.destroy();
  });

  it('creates a database and a table, inserts a row and selects it', async () => {
    await connection.query(`CREATE DATABASE ${database}`);
    await connection.query(`CREATE TABLE ${database}.points (id BIGINT PRIMARY KEY, value DOUBLE NOT NULL)`);
    await connection.query(`INSERT INTO ${database}.points VALUES (?, ?)`, [-6942109823563431007n, 0.1]);
    const [rows] = await connection.query({
      sql: `SELECT id, value FROM ${database}.points`,
      supportBigNumbers: true,
      bigNumberStrings: true,
    });
    expect(rows).toEqual([{ id: '-6942109823563431007', value: 0.1 }]);
  });
});
