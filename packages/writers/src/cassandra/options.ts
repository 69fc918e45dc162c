/** Settings of the Cassandra writers and readers, and the table names the schema uses. */
import type { Resolution } from '@carillon/core';

export interface RetryOptions {
  /** Attempts after the first; past them the rows are counted as failed. */
  maxRetries: number;
  /** First backoff; each retry doubles it up to maxDelayMs. */
  baseDelayMs: number;
  maxDelayMs: number;
}

export interface CassandraOptions {
  /** `host:port` strings. */
  contactPoints: string[];
  localDataCenter: string;
  keyspace: string;
  /** Replication map of the keyspace, e.g. `{ class: 'SimpleStrategy', replication_factor: '1' }`. */
  replication: Record<string, string>;
  /** Finest first, as core's parseResolutions returns them: one flat table and one TTL per resolution. */
  resolutions: readonly Resolution[];
  connectTimeoutMs: number;
  /** Per request: the driver fails a request a host has not answered in this time. */
  readTimeoutMs: number;
  /** Data-row statements in flight at once per client (per worker in the write pool), and as many for index rows. */
  maxInFlight: number;
  retry: RetryOptions;
  /** Index entries (paths, prefixes, tags) remembered as written, so a known path is not rewritten every flush. */
  indexCacheSize: number;
  /** PasswordAuthenticator credentials; absent = none. */
  credentials?: { username: string; password: string };
  /** TLS, with PEM file paths (read in each worker's client): absent = plain. */
  tls?: { ca: string; cert: string; key: string };
}

export const DEFAULT_RETRY: RetryOptions = { maxRetries: 60, baseDelayMs: 100, maxDelayMs: 5_000 };

export const DEFAULT_CASSANDRA_OPTIONS = {
  localDataCenter: 'datacenter1',
  replication: { class: 'SimpleStrategy', replication_factor: '1' },
  connectTimeoutMs: 5_000,
  readTimeoutMs: 10_000,
  maxInFlight: 64,
  retry: DEFAULT_RETRY,
  indexCacheSize: 1_000_000,
} as const;

/** The flat table of one resolution: `flat_<step>s`. One table per TTL keeps TimeWindowCompactionStrategy effective. */
export function flatTable(resolution: Resolution): string {
  return `flat_${resolution.step}s`;
}

export const PATH_TABLE = 'path';
export const SEGMENT_TABLE = 'segment';
export const TAG_TABLE = 'tagged';

/**
 * Parses `SimpleStrategy:3` or `NetworkTopologyStrategy:dc1=3,dc2=2` into a replication map; returns an error
 * message instead of throwing so the config reader can name its key.
 */
export function parseReplication(text: string): Record<string, string> | string {
  const [strategy, spec = ''] = text.split(':', 2).map((part) => part.trim());
  if (strategy === 'SimpleStrategy') {
    if (!/^[1-9]\d*$/.test(spec)) return 'SimpleStrategy needs a replication factor, like "SimpleStrategy:3"';
    return { class: 'SimpleStrategy', replication_factor: spec };
  }
  if (strategy === 'NetworkTopologyStrategy') {
    const map: Record<string, string> = { class: 'NetworkTopologyStrategy' };
    for (const item of spec.split(',')) {
      const match = /^([A-Za-z0-9_.-]+)=([1-9]\d*)$/.exec(item.trim());
      if (!match) return `"${item}" must be dc=factor, like "NetworkTopologyStrategy:dc1=3,dc2=3"`;
      map[match[1]!] = match[2]!;
    }
    return map;
  }
  return `must be "SimpleStrategy:<factor>" or "NetworkTopologyStrategy:<dc>=<factor>,..."`;
}

/** Keyspace names CQL accepts unquoted: a letter, then letters, digits and `_`, at most 48. */
export function isValidKeyspace(name: string): boolean {
  return /^[A-Za-z][A-Za-z0-9_]{0,47}$/.test(name);
}
