import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigSource, parseOverrides, readTomlFile } from '@carillon/core';
import { readAllInOneConfig } from '../src/single-node-config.js';

const examplePath = fileURLToPath(new URL('../../../carillon.example.toml', import.meta.url));

describe('all-in-one configuration', () => {
  it('the example file lists only real keys, each at its default', () => {
    // `inputs` is what each was read from (a listener thread reads it again): the file, and nothing
    const { inputs: _file, ...fromExample } = readAllInOneConfig(new ConfigSource(readTomlFile(examplePath)));
    const { inputs: _none, ...defaults } = readAllInOneConfig(new ConfigSource());
    expect(fromExample).toEqual(defaults);
  });

  it('defaults: Graphite 2003 TCP/UDP, StatsD 8125, HTTP 8080, whisper in ./data, the design times', () => {
    const config = readAllInOneConfig(new ConfigSource());
    expect(config.graphite.tcp).toEqual({ host: '::', port: 2003 });
    expect(config.graphite.udp).toEqual({ host: '::', port: 2003 });
    expect(config.statsd.udp).toEqual({ host: '::', port: 8125 });
    expect(config.node.http.listen).toEqual({ host: '::', port: 8080 });
    expect(config.node.store).toBe('whisper');
    expect(config.node.whisper.dataDir).toBe('./data');
    expect(config.node.aggregator.resolutions.map((r) => r.name)).toEqual(['10s:1w', '1m:30d', '10m:900d']);
  });

  it('environment and --set override the file, and errors name the key', () => {
    const config = readAllInOneConfig(
      new ConfigSource(
        { graphite: { tcp_listen: ':1' } },
        { CARILLON_GRAPHITE_TCP_LISTEN: ':2', CARILLON_STATSD_UDP_LISTEN: '' },
        parseOverrides(['graphite.tcp_listen=127.0.0.1:3']),
      ),
    );
    expect(config.graphite.tcp).toEqual({ host: '127.0.0.1', port: 3 });
    expect(config.statsd.udp).toBeNull();
    expect(() => readAllInOneConfig(new ConfigSource({ store: 'sqlite' }))).toThrowError(
      'config: store: must be one of whisper, memory',
    );
    expect(() => readAllInOneConfig(new ConfigSource({ statsd: { output: { legacyNamespce: false } } }))).toThrowError(
      'config: statsd.output.legacyNamespce: unknown option',
    );
    expect(() => readAllInOneConfig(new ConfigSource({ aggregator: { grace: 'soon' } }))).toThrowError(
      'config: aggregator.grace:',
    );
    expect(() => readAllInOneConfig(new ConfigSource({ times: ['10s:1m'], aggregator: { grace: '2m' } }))).toThrowError(
      'config: aggregator.grace: must be shorter than the finest retention',
    );
    expect(() => readAllInOneConfig(new ConfigSource({ cassandra: { retry_delay_ms: 100 } }))).toThrowError(
      'config: cassandra.retry_delay_ms: unknown key',
    );
  });

  it('[[retention]] reaches the node, on whisper and Cassandra; the memory store refuses it, naming the key', () => {
    const retention = [{ pattern: '^carbon\\.', times: ['1m:90d'] }];
    const config = readAllInOneConfig(new ConfigSource({ retention }));
    expect(config.node.retentionRules.map((r) => [r.pattern.source, r.resolutions.map((x) => x.name)])).toEqual([
      ['^carbon\\.', ['1m:90d']],
      ['(?:)', ['10s:1w', '1m:30d', '10m:900d']],
    ]);
    expect(() => readAllInOneConfig(new ConfigSource({ store: 'memory', retention }))).toThrowError(
      /config: retention: per-pattern retention is served by store = "whisper" or "cassandra", not "memory"/,
    );
    expect(readAllInOneConfig(new ConfigSource({ store: 'cassandra', retention })).node.retentionRules).toHaveLength(2);
    expect(() =>
      readAllInOneConfig(new ConfigSource({ retention: [{ pattern: 'x', times: ['30s:1d'] }] })),
    ).toThrowError(/config: retention\[0\]\.times\[0\]: step 30s is not one of the steps of times/);
  });
});
