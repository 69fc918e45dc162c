/** One cassandra-driver client configured with the timeouts, backoff and encodings every part here relies on. */
import { readFileSync } from 'node:fs';
import cassandra from 'cassandra-driver';
import type { CassandraOptions } from './options.js';

export type CassandraClient = cassandra.Client;

/**
 * A client for `options`, not yet connected (the driver connects on first use, and again after a failure).
 * `keyspace` is left out when the schema is still to be made. Protocol v4: what Cassandra 4 and 5 both speak.
 */
export function createCassandraClient(options: CassandraOptions, withKeyspace: boolean): CassandraClient {
  const read = (path: string): Buffer | undefined => (path === '' ? undefined : readFileSync(path));
  const tls = options.tls;
  return new cassandra.Client({
    ...(options.credentials
      ? { credentials: { username: options.credentials.username, password: options.credentials.password } }
      : {}),
    ...(tls
      ? { sslOptions: { ca: read(tls.ca), cert: read(tls.cert), key: read(tls.key), rejectUnauthorized: true } }
      : {}),
    contactPoints: options.contactPoints,
    localDataCenter: options.localDataCenter,
    keyspace: withKeyspace ? options.keyspace : undefined,
    protocolOptions: { maxVersion: cassandra.types.protocolVersion.v4 },
    socketOptions: {
      connectTimeout: options.connectTimeoutMs,
      readTimeout: options.readTimeoutMs,
    },
    policies: {
      reconnection: new cassandra.policies.reconnection.ExponentialReconnectionPolicy(
        options.retry.baseDelayMs,
        Math.max(options.retry.baseDelayMs, options.retry.maxDelayMs),
        false,
      ),
    },
    // Series ids are signed 64-bit: BigInt both ways, no Long.
    encoding: { useBigIntAsLong: true, useBigIntAsVarint: true },
    pooling: { warmup: true },
  });
}
