import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigSource, DEFAULT_AGGREGATION_RULES } from '@carillon/core';
import { readAggregationConfig } from '../src/config-keys.js';

describe('carbon.storage_aggregation', () => {
  const dir = mkdtempSync(join(tmpdir(), 'carillon-aggregation-config-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'storage-aggregation.conf');
  writeFileSync(file, '[p99]\npattern = \\.p99$\naggregationMethod = max\nxFilesFactor = 0.2\n');

  it('takes the rules from the file, carbon default last', () => {
    const { aggregationRules } = readAggregationConfig(new ConfigSource({ carbon: { storage_aggregation: file } }));
    expect(aggregationRules.map((r) => [r.pattern.source, r.method, r.xFilesFactor])).toEqual([
      ['\\.p99$', 'max', 0.2],
      ['.*', 'average', 0.5],
    ]);
  });

  it('without it, the built-in rules', () => {
    expect(readAggregationConfig(new ConfigSource()).aggregationRules).toBe(DEFAULT_AGGREGATION_RULES);
  });

  it('refuses a file beside [[aggregation]], and a file it cannot read, naming the key', () => {
    const both = new ConfigSource({
      carbon: { storage_aggregation: file },
      aggregation: [{ pattern: 'x', method: 'sum' }],
    });
    expect(() => readAggregationConfig(both)).toThrow(
      'config: carbon.storage_aggregation: is set beside [[aggregation]]: keep one of them',
    );
    const missing = new ConfigSource({ carbon: { storage_aggregation: join(dir, 'none.conf') } });
    expect(() => readAggregationConfig(missing)).toThrow(
      /config: carbon\.storage_aggregation: cannot read .*none\.conf/,
    );
  });
});
