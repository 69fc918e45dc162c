/**
 * Late points over TCP into a running single node on Cassandra 5.0, flat rows and chunks: points 30 s, 10 min and
 * 2 h old in two rounds (into empty windows, then merged into what was stored), read back through /render at every
 * resolution against the oracle for every (key, resolution, window); for flat rows every stored StatPoint,
 * first/last timestamps included, is also read with CQL and compared whole.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type cassandra from 'cassandra-driver';
import { seriesId, splitCanonical } from '@carillon/core';
import { freePort } from '../support/ports.js';
import { startProgram, type RunningProgram } from '../e2e/programs.js';
import { cassandraProgramArgs, PROGRAM } from '../cassandra/allinone.js';
import { cassandra as cassandraServer, uniqueKeyspace, type CassandraAddress } from '../harness/servers.js';
import { connectCql } from '../support/cassandra.js';
import { entries, LATE_KEYS, LATE_TIMES, RESOLUTIONS, readBackUntilExact, sendLateRounds } from './late-points.js';

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

      // Whole StatPoints with CQL: the amended windows (every window but the two on-time ones per key).
      const oracle = traffic.oracle();
      let compared = 0;
      for (const key of LATE_KEYS) {
        const { path, tags } = splitCanonical(key);
        const id = seriesId(path, tags);
        for (const resolution of RESOLUTIONS) {
          const table = `${keyspace}.flat_${resolution.step}s`;
          const result = await cql.execute(
            `SELECT time, min, max, sum, first, last, count, first_time, last_time FROM ${table} WHERE id = ?`,
            [id],
            { prepare: true },
          );
          for (const row of result.rows) {
            const time = (row.get('time') as Date).getTime() / 1000;
            const want = oracle.get(`${key}|${resolution.step}|${time}`);
            if (want === undefined || time >= traffic.t0 - 20) continue;
            expect({
              time,
              min: row.get('min') as number,
              max: row.get('max') as number,
              sum: row.get('sum') as number,
              first: row.get('first') as number,
              last: row.get('last') as number,
              count: Number(row.get('count') as bigint),
              firstTime: Number(row.get('first_time') as bigint),
              lastTime: Number(row.get('last_time') as bigint),
            }).toEqual(want);
            compared++;
          }
        }
      }
      expect(compared).toBeGreaterThanOrEqual(LATE_KEYS.length * 3 * 2);
    },
  );

  it('reads back exactly from chunks', { timeout: 180_000 }, async () => {
    const { http, graphite } = await node(uniqueKeyspace('lateblob'), [
      'cassandra.schema=blob',
      'cassandra.chunk_persist_interval=2s',
    ]);
    const traffic = await sendLateRounds(graphite, http);
    const { expected, actual } = await readBackUntilExact(http, traffic);
    expect(entries(actual)).toEqual(entries(expected));
  });
});
