/**
 * Late points over TCP into a running single node on Cassandra 5.0, flat rows and chunks: points 30 s, 10 min and
 * 2 h old in two rounds (into empty windows, then merged into what was stored), read back through /render at every
 * resolution against the oracle for every (key, resolution, window); for flat rows every stored StatPoint,
 * first/last timestamps included, is also read with CQL and compared whole.
 */
import { isDeepStrictEqual } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type cassandra from 'cassandra-driver';
import { decodeChunk } from '@carillon/codec';
import { seriesId, splitCanonical, type StatPoint } from '@carillon/core';
import { freePort } from '../support/ports.js';
import { startProgram, type RunningProgram } from '../e2e/programs.js';
import { cassandraProgramArgs, PROGRAM } from '../cassandra/allinone.js';
import { cassandra as cassandraServer, uniqueKeyspace, type CassandraAddress } from '../harness/servers.js';
import { connectCql } from '../support/cassandra.js';
import { waitFor } from '../support/wait.js';
import {
  entries,
  LATE_KEYS,
  LATE_TIMES,
  RESOLUTIONS,
  readBackUntilExact,
  sendLateRounds,
  type LateTraffic,
} from './late-points.js';

describe('late points amend their windows on Cassandra', () => {
  let server: CassandraAddress;
  let cql: cassandra.Client;
  const running: RunningProgram[] = [];

  beforeAll(async () => {
    server = await cassandraServer();
    cql = await connectCql(server);
  });

  afterAll(async () => {
    for (const program of running) await program.stop();
    await cql?.shutdown();
  });

  async function node(keyspace: string, settings: string[]): Promise<{ http: number; graphite: number }> {
    const [http, graphite, statsd] = [await freePort(), await freePort(), await freePort()];
    const args = cassandraProgramArgs(
      { contactPoints: server.contactPoints.join(','), localDataCenter: server.localDataCenter, keyspace },
      { http, graphite, statsd },
      [`times=${LATE_TIMES}`, ...settings],
    );
    running.push(await startProgram(PROGRAM, args, 'carillon started', 60_000));
    return { http, graphite };
  }

  it(
    'reads back exactly from flat rows, and every stored StatPoint is the oracle one',
    { timeout: 180_000 },
    async () => {
      const keyspace = uniqueKeyspace('lateflat');
      const { http, graphite } = await node(keyspace, ['cassandra.schema=flat']);
      const traffic = await sendLateRounds(graphite, http);
      const { expected, actual } = await readBackUntilExact(http, traffic);
      expect(entries(actual)).toEqual(entries(expected));

      expect(await compareStored(keyspace, 'flat', traffic)).toBeGreaterThanOrEqual(LATE_KEYS.length * 3 * 2);
    },
  );

  it('reads back exactly from chunks, and every stored StatPoint is the oracle one', { timeout: 180_000 }, async () => {
    const keyspace = uniqueKeyspace('lateblob');
    const { http, graphite } = await node(keyspace, ['cassandra.schema=blob', 'cassandra.chunk_persist_interval=2s']);
    const traffic = await sendLateRounds(graphite, http);
    const { expected, actual } = await readBackUntilExact(http, traffic);
    expect(entries(actual)).toEqual(entries(expected));
    // The chunks keep first/last timestamps (codec version 2): amends merged first and last exactly. Chunks still
    // open in the node's memory are written every chunk_persist_interval.
    await waitFor(
      'the amended chunks persisted',
      async () => (await compareStored(keyspace, 'blob', traffic, false)) >= LATE_KEYS.length * 3 * 2,
      30_000,
      500,
    );
    expect(await compareStored(keyspace, 'blob', traffic)).toBeGreaterThanOrEqual(LATE_KEYS.length * 3 * 2);
  });

  /** The StatPoints stored for one series at one resolution, whole, read with CQL (flat rows or decoded chunks). */
  async function storedPoints(
    keyspace: string,
    schema: 'flat' | 'blob',
    step: number,
    id: bigint,
  ): Promise<StatPoint[]> {
    if (schema === 'blob') {
      const result = await cql.execute(`SELECT data FROM ${keyspace}.chunk_${step}s WHERE id = ?`, [id], {
        prepare: true,
      });
      return result.rows.flatMap((row) => decodeChunk(row.get('data') as Buffer));
    }
    const result = await cql.execute(
      `SELECT time, min, max, sum, first, last, count, first_time, last_time FROM ${keyspace}.flat_${step}s WHERE id = ?`,
      [id],
      { prepare: true },
    );
    return result.rows.map((row) => ({
      time: (row.get('time') as Date).getTime() / 1000,
      min: row.get('min') as number,
      max: row.get('max') as number,
      sum: row.get('sum') as number,
      first: row.get('first') as number,
      last: row.get('last') as number,
      count: Number(row.get('count') as bigint),
      firstTime: Number(row.get('first_time') as bigint),
      lastTime: Number(row.get('last_time') as bigint),
    }));
  }

  /**
   * Compares every stored StatPoint of the amended windows (all but the two on-time ones per key) with the oracle,
   * first/last timestamps included; returns how many were compared. `strict` false: counts the equal ones only.
   */
  async function compareStored(
    keyspace: string,
    schema: 'flat' | 'blob',
    traffic: LateTraffic,
    strict = true,
  ): Promise<number> {
    const oracle = traffic.oracle();
    let compared = 0;
    for (const key of LATE_KEYS) {
      const { path, tags } = splitCanonical(key);
      const id = seriesId(path, tags);
      for (const resolution of RESOLUTIONS)
        for (const point of await storedPoints(keyspace, schema, resolution.step, id)) {
          const want = oracle.get(`${key}|${resolution.step}|${point.time}`);
          if (want === undefined || point.time >= traffic.t0 - 20) continue;
          if (strict) expect(point).toEqual(want);
          else if (!isDeepStrictEqual(point, want)) continue;
          compared++;
        }
    }
    return compared;
  }
});
