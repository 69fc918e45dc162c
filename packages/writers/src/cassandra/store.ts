/**
 * The Cassandra store as a node uses it: the schema made at open, flushed windows written by the write pool's
 * workers (each with its own client), and reads (series values, find, tags) from a client on the main thread.
 */
import type {
  AggregationRule,
  FlushBatch,
  Logger,
  MetricsRegistry,
  Resolution,
  RetentionRule,
  SeriesReader,
  WriteOutcome,
  Writer,
} from '@carillon/core';
import { WritePool, type WritePoolOptions } from '../pool/write-pool.js';
import { createCassandraClient, type CassandraClient } from './client.js';
import { CassandraFinder, type FinderDeps } from './finder.js';
import { CassandraReader } from './reader.js';
import { withRetries } from './retry.js';
import { RetentionSplit } from './retention-split.js';
import { ensureSchema } from './schema.js';
import type { CassandraOptions } from './options.js';

export type CassandraPoolOptions = Omit<WritePoolOptions, 'name' | 'writers'>;

/** What a Cassandra store (flat or with chunks) is opened with besides its options. */
export interface CassandraStoreDeps {
  metrics: MetricsRegistry;
  logger?: Logger;
  aggregationRules: readonly AggregationRule[];
  /** Per-pattern retention (core retentionRules); none: every series keeps `times`. */
  retentionRules?: readonly RetentionRule[];
  finder: FinderDeps;
}

/** The retention split of a store's writes, with its counter. */
export function retentionSplit(deps: CassandraStoreDeps): RetentionSplit {
  const notKept = deps.metrics
    .counter(
      'cassandra_points_not_kept_total',
      'Points of a step the series retention rule does not keep (not written)',
    )
    .labels();
  return new RetentionSplit(deps.retentionRules ?? [], notKept);
}

/**
 * Makes the schema with an admin client (retrying with backoff while Cassandra does not answer, at most 10 times),
 * then connects the client that works in the keyspace.
 */
export async function connectWithSchema(
  options: CassandraOptions,
  ensure: (admin: CassandraClient) => Promise<void>,
  logger: Logger | undefined,
): Promise<CassandraClient> {
  const admin = createCassandraClient(options, false);
  try {
    await withRetries(
      () => ensure(admin),
      { ...options.retry, maxRetries: Math.min(options.retry.maxRetries, 10) },
      (error) => logger?.warn({ err: error }, 'cassandra: schema not made yet, retrying'),
    );
  } finally {
    await admin.shutdown();
  }
  const client = createCassandraClient(options, true);
  await client.connect();
  return client;
}

export class CassandraStore implements Writer, SeriesReader {
  readonly name = 'cassandra';

  private constructor(
    private readonly client: CassandraClient,
    readonly pool: WritePool,
    readonly reader: CassandraReader,
    readonly finder: CassandraFinder,
    private readonly retention: RetentionSplit,
  ) {}

  /** Connects, makes the schema (retrying with backoff while Cassandra does not answer), starts the pool. */
  static async open(
    options: CassandraOptions,
    pool: CassandraPoolOptions,
    deps: CassandraStoreDeps,
  ): Promise<CassandraStore> {
    const client = await connectWithSchema(options, (admin) => ensureSchema(admin, options), deps.logger);
    const writePool = new WritePool(
      { ...pool, name: 'cassandra', writers: [{ kind: 'cassandra', name: 'cassandra', options }] },
      { metrics: deps.metrics, logger: deps.logger },
    );
    deps.logger?.info(
      { keyspace: options.keyspace, contactPoints: options.contactPoints, workers: pool.workers },
      'cassandra store opened',
    );
    return new CassandraStore(
      client,
      writePool,
      new CassandraReader(client, options, deps.aggregationRules),
      new CassandraFinder(client, options, deps.finder),
      retentionSplit(deps),
    );
  }

  /** True while the pool's queue is above its high-water mark: the aggregator then skips its flush. */
  notLive(): string | undefined {
    return this.pool.notLive();
  }

  overloaded(): boolean {
    return this.pool.overloaded();
  }

  write(batch: FlushBatch): Promise<WriteOutcome> {
    return this.retention.write(batch, (part) => this.pool.write(part));
  }

  fetch(name: string, resolution: Resolution, from: number, until: number): Promise<(number | null)[]> {
    return this.reader.fetch(name, resolution, from, until);
  }

  async close(): Promise<void> {
    await this.pool.close();
    await this.client.shutdown();
  }
}
