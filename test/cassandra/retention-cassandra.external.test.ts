/**
 * Per-pattern retention on Cassandra 5.0 (flat rows and chunks), under CPU contention: an all-in-one started with
 * carbon's storage-schemas.conf writes each series only at the steps its section keeps, each row (flat row or
 * chunk) with its section's TTL — read back with CQL's TTL() — and the render API reads every series at its own
 * resolutions, every window the average of the points sent into it.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type cassandra from 'cassandra-driver';
import { seriesId, splitCanonical } from '@carillon/core';
import { cassandra as cassandraServer, uniqueKeyspace, type CassandraAddress } from '../harness/servers.js';
import { connectCql } from '../support/cassandra.js';
import { startBusyLoops, type Contention } from '../support/contention.js';
import { freePort } from '../support/ports.js';
import { useTempDir } from '../support/temp-dir.js';
import { waitFor } from '../support/wait.js';
import {
  expectedRender,
  renderRetentionSeries,
  RETENTION_SCHEMAS,
  RETENTION_SERIES,
  RETENTION_TIMES,
  sendRetentionTraffic,
  STEPS_20_MINUTES_BACK,
  STEPS_2_HOURS_BACK,
} from '../support/retention-traffic.js';
import { getText, metricValue, startProgram, type RunningProgram } from '../e2e/programs.js';
import { cassandraProgramArgs, PROGRAM } from './allinone.js';

const STEPS = [10, 60, 600];

describe('per-pattern retention on Cassandra', () => {
  const dir = useTempDir('retention-cassandra');
  let server: CassandraAddress;
  let cql: cassandra.Client;
  let contention: Contention | undefined;
  const running: RunningProgram[] = [];

  beforeAll(async () => {
    server = await cassandraServer();
    cql = await connectCql(server);
  });
  afterEach(() => contention?.stop());
  afterAll(async () => {
    for (const program of running) await program.stop();
    await cql?.shutdown();
  });

  /** Per series and step: the TTL its stored rows were written with (the largest left, to the second), or absent. */
  async function storedTtls(
    keyspace: string,
    table: 'flat' | 'chunk',
  ): Promise<Record<string, Record<number, number>>> {
    const column = table === 'flat' ? 'count' : 'data';
    const ttls: Record<string, Record<number, number>> = {};
    for (const name of Object.keys(RETENTION_SERIES)) {
      const { path, tags } = splitCanonical(name);
      ttls[name] = {};
      for (const step of STEPS) {
        const result = await cql.execute(
          `SELECT TTL(${column}) AS ttl FROM ${keyspace}.${table}_${step}s WHERE id = ?`,
          [seriesId(path, tags)],
          { prepare: true },
        );
        const left = result.rows.map((row) => row.get('ttl') as number);
        if (left.length > 0) ttls[name][step] = Math.max(...left);
      }
    }
    return ttls;
  }

  for (const schema of ['flat', 'blob'] as const)
    it(`stores each series at its section's steps with its TTLs (${schema})`, { timeout: 180_000 }, async () => {
      const conf = join(dir(), `storage-schemas-${schema}.conf`);
      writeFileSync(conf, RETENTION_SCHEMAS);
      const keyspace = uniqueKeyspace(`retention${schema}`);
      const [http, graphite, statsd] = [await freePort(), await freePort(), await freePort()];
      contention = startBusyLoops(2, 150_000);
      const carillon = await startProgram(
        PROGRAM,
        cassandraProgramArgs(
          { contactPoints: server.contactPoints.join(','), localDataCenter: server.localDataCenter, keyspace },
          { http, graphite, statsd },
          [
            RETENTION_TIMES,
            `carbon.storage_schemas=${conf}`,
            `cassandra.schema=${schema}`,
            'cassandra.chunk_persist_interval=2s',
          ],
        ),
        'carillon started',
        60_000,
      );
      running.push(carillon);
      const { sent } = await sendRetentionTraffic(graphite);
      expect(await renderRetentionSeries(http, 20 * 60)).toEqual(expectedRender(sent, STEPS_20_MINUTES_BACK));
      expect(await renderRetentionSeries(http, 2 * 3600)).toEqual(expectedRender(sent, STEPS_2_HOURS_BACK));
      // The 10 s windows of `long` are not written, counted.
      await waitFor(
        'points of steps a section does not keep counted',
        async () =>
          metricValue(await getText(`http://127.0.0.1:${http}/metrics`), 'carillon_cassandra_points_not_kept_total') >=
          sent['long.web1.cpu']!.length,
        30_000,
        500,
      );
      expect(await carillon.stop()).toBe(0); // the shutdown flush writes every window and every open chunk

      // Each series has rows at the steps its section keeps only, with the section's retention as TTL (a few
      // seconds of it spent since the write; amends are not involved here).
      const ttls = await storedTtls(keyspace, schema === 'flat' ? 'flat' : 'chunk');
      for (const [name, archives] of Object.entries(RETENTION_SERIES)) {
        expect([name, Object.keys(ttls[name]!).map(Number)]).toEqual([name, archives.map(([step]) => step)]);
        for (const [step, points] of archives) {
          const ttl = ttls[name]![step]!;
          expect([name, step, ttl <= step * points && ttl > step * points - 120]).toEqual([name, step, true]);
        }
      }
    });
});
