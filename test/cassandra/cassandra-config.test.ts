/** The node's `store = "cassandra"` keys: defaults, values from file and command line, and errors naming their key. */
import { describe, expect, it } from 'vitest';
import { ConfigError, ConfigSource, parseOverrides } from '@carillon/core';
import { readNodeConfig } from '@carillon/accumulator';

const read = (file: Record<string, unknown>, sets: string[] = []) =>
  readNodeConfig(new ConfigSource(file, {}, parseOverrides(sets)));

describe('[cassandra] node config', () => {
  it('has defaults for every key', () => {
    const config = read({}, ['store=cassandra']);
    expect(config.store).toBe('cassandra');
    expect(config.cassandra).toEqual({
      contactPoints: ['127.0.0.1:9042'],
      localDataCenter: 'datacenter1',
      keyspace: 'carillon',
      replication: { class: 'SimpleStrategy', replication_factor: '1' },
      workers: 2,
      queueHighWaterPoints: 200_000,
      maxQueuePoints: 4_000_000,
      maxInFlight: 64,
      connectTimeoutMs: 5_000,
      readTimeoutMs: 10_000,
      retries: 60,
      retryDelayMs: 100,
      retryMaxDelayMs: 5_000,
      indexCacheSize: 1_000_000,
      username: '',
      password: '',
      tls: false,
      tlsCa: '',
      tlsCert: '',
      tlsKey: '',
    });
  });

  it('reads the file and the command line', () => {
    const config = read(
      {
        store: 'cassandra',
        cassandra: {
          contact_points: ['c1:9042', 'c2'],
          replication: 'NetworkTopologyStrategy:dc1=3,dc2=2',
          workers: 4,
        },
      },
      ['cassandra.keyspace=metrics_eu', 'cassandra.queue_high_water_points=1000'],
    );
    expect(config.cassandra.contactPoints).toEqual(['c1:9042', 'c2']);
    expect(config.cassandra.replication).toEqual({ class: 'NetworkTopologyStrategy', dc1: '3', dc2: '2' });
    expect(config.cassandra.workers).toBe(4);
    expect(config.cassandra.keyspace).toBe('metrics_eu');
    expect(config.cassandra.queueHighWaterPoints).toBe(1000);
  });

  it.each([
    [['cassandra.keyspace=1bad'], 'cassandra.keyspace'],
    [['cassandra.keyspace=has-dash'], 'cassandra.keyspace'],
    [['cassandra.replication=SimpleStrategy:0'], 'cassandra.replication'],
    [['cassandra.replication=Everywhere'], 'cassandra.replication'],
    [['cassandra.replication=NetworkTopologyStrategy:dc1'], 'cassandra.replication'],
    [['cassandra.workers=0'], 'cassandra.workers'],
    [['cassandra.contact_points=bad host'], 'cassandra.contact_points'],
    [['cassandra.read_timeout=soon'], 'cassandra.read_timeout'],
    [['cassandra.retry_delay=1s', 'cassandra.retry_max_delay=500ms'], 'cassandra.retry_max_delay'],
    [['store=cassandr'], 'store'],
  ])('refuses %j naming %s', (sets, key) => {
    let error: unknown;
    try {
      read({}, sets);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toContain(key);
  });
});
