/** What the tests against real Cassandra set up the same way: store options, pool options, a CQL client. */
import { expect } from 'vitest';
import cassandra from 'cassandra-driver';
import { compilePathGlob, QueryError } from '@carillon/query';
import { DEFAULT_CASSANDRA_OPTIONS, type CassandraOptions, type CassandraPoolOptions } from '@carillon/writers';
import type { CassandraAddress } from '../harness/servers.js';

/** The finder's dependencies as the query package provides them. */
export const finderDeps = { compilePathGlob, tooLarge: (message: string) => new QueryError(message) };

/** Store options for the harness's server and `keyspace`, defaults otherwise; `overrides` last. */
export function cassandraOptions(
  server: CassandraAddress,
  keyspace: string,
  overrides: Partial<CassandraOptions> & Pick<CassandraOptions, 'resolutions'>,
): CassandraOptions {
  return {
    ...DEFAULT_CASSANDRA_OPTIONS,
    contactPoints: server.contactPoints,
    localDataCenter: server.localDataCenter,
    keyspace,
    ...overrides,
  };
}

/** Write pool options of the tests: 2 workers, counters every 100 ms, quick restarts; `overrides` last. */
export function testPoolOptions(overrides: Partial<CassandraPoolOptions> = {}): CassandraPoolOptions {
  return {
    workers: 2,
    highWaterPoints: 10_000,
    maxQueuePoints: 100_000,
    statsIntervalMs: 100,
    restartDelayMs: 100,
    closeTimeoutMs: 10_000,
    ...overrides,
  };
}

/** A connected CQL client to the harness's server (in `keyspace` when given), bigint as BigInt. */
export async function connectCql(server: CassandraAddress, keyspace?: string): Promise<cassandra.Client> {
  const client = new cassandra.Client({
    contactPoints: server.contactPoints,
    localDataCenter: server.localDataCenter,
    ...(keyspace === undefined ? {} : { keyspace }),
    encoding: { useBigIntAsLong: true },
  });
  await client.connect();
  return client;
}

/** Asserts that `keyspace.table` has `ttl` as its default TTL and compacts with TimeWindowCompactionStrategy. */
export async function expectTimeWindowTable(
  cql: cassandra.Client,
  keyspace: string,
  table: string,
  ttl: number,
): Promise<void> {
  const result = await cql.execute(
    'SELECT default_time_to_live, compaction FROM system_schema.tables WHERE keyspace_name = ? AND table_name = ?',
    [keyspace, table],
  );
  expect(result.rows[0]!.get('default_time_to_live')).toBe(ttl);
  expect((result.rows[0]!.get('compaction') as Record<string, string>).class).toContain('TimeWindowCompactionStrategy');
}
