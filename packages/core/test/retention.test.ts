import { describe, expect, it } from 'vitest';
import {
  carbonRetention,
  ConfigError,
  ConfigSource,
  hasRetentionRules,
  parseResolutions,
  parseRetentionSpecs,
  parseStorageSchemas,
  readRetentionRules,
  retentionFor,
  retentionRules,
} from '@carillon/core';

const TIMES = parseResolutions(['10s:1d', '1m:7d', '10m:90d']);

const rulesOf = (raw: unknown) => retentionRules(parseRetentionSpecs(raw), TIMES);
const names = (resolutions: readonly { name: string }[]) => resolutions.map((r) => r.name);

describe('retention rules', () => {
  it('gives the first matching rule, by path, and times for the rest', () => {
    const rules = rulesOf([
      { pattern: '^carbon\\.', times: ['1m:90d'] },
      { pattern: '\\.count$', times: ['10s:6h', '10m:1y'] },
      { pattern: '^carbon\\.x', times: ['10s:1h'] },
    ]);
    expect(names(retentionFor('carbon.agents.x.count', rules))).toEqual(['1m:90d']);
    expect(names(retentionFor('web.count', rules))).toEqual(['10s:6h', '10m:1y']);
    // Tags are not matched: the path is.
    expect(names(retentionFor('disk.count;host=carbon.a', rules))).toEqual(['10s:6h', '10m:1y']);
    expect(retentionFor('web.latency', rules)).toBe(TIMES);
    expect(hasRetentionRules(rules)).toBe(true);
    expect(hasRetentionRules(rulesOf([]))).toBe(false);
  });

  it("numbers each rule resolution by the times resolution of its step (the aggregator's window)", () => {
    const [rule] = rulesOf([{ pattern: 'x', times: ['1m:90d', '10m:1y'] }]);
    expect(rule!.resolutions.map((r) => [r.index, r.step, r.ttl])).toEqual([
      [1, 60, 90 * 86400],
      [2, 600, 365 * 86400],
    ]);
  });

  it.each([
    [[{ pattern: 'x', times: ['30s:1d'] }], 'retention[0].times[0]', 'not one of the steps of times'],
    [[{ pattern: 'x', times: ['10s:1d', '1h:7d'] }], 'retention[0].times[1]', 'not one of the steps of times'],
    [[{ pattern: 'x', times: ['1m:1d', '10s:7d'] }], 'retention[0].times[1]', 'must be longer'],
    [[{ pattern: 'x', times: ['1m:30s'] }], 'retention[0].times[0]', 'shorter than the step'],
    [[{ pattern: 'x', times: ['1m:90s'] }], 'retention[0].times[0]', 'not a whole number of steps'],
    [[{ pattern: 'x', times: [] }], 'retention[0].times', 'at least one resolution'],
    [[{ pattern: '(', times: ['1m:1d'] }], 'retention[0].pattern', 'not a valid regular expression'],
    [[{ pattern: 'x' }], 'retention[0].times', 'must be a list'],
    [[{ pattern: 'x', times: ['1m:1d'], ttl: 1 }], 'retention[0].ttl', 'unknown option'],
    [{ pattern: 'x' }, 'retention', 'must be a list'],
  ])('refuses %j naming %s', (raw, key, message) => {
    let error: unknown;
    try {
      rulesOf(raw);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).key).toBe(key);
    expect((error as Error).message).toContain(message);
  });
});

describe('storage-schemas.conf', () => {
  it("reads carbon's retentions: seconds, points, units, continued lines", () => {
    expect(carbonRetention('60:1440', 'k')).toBe('60s:86400s');
    expect(carbonRetention(' 10s:6h ', 'k')).toBe('10s:21600s');
    expect(carbonRetention('1m:90s', 'k')).toBe('60s:60s');
    const schemas = parseStorageSchemas(
      '[carbon]\npattern = ^carbon\\.\nretentions = 60:90d\n[web]\nPATTERN: ^web\\.\nretentions = 10s:1d,\n  1m:7d\n',
      'carbon.storage_schemas (x)',
    );
    expect(schemas.map((s) => [s.name, s.pattern.source, s.times])).toEqual([
      ['carbon', '^carbon\\.', ['60s:7776000s']],
      ['web', '^web\\.', ['10s:86400s', '60s:604800s']],
    ]);
  });

  it.each([
    ['[a]\nretentions = 60:1d\n', 'has no pattern'],
    ['[a]\npattern = x\n', 'has no retentions'],
    ['[a]\npattern = (\nretentions = 60:1d\n', 'not a valid regular expression'],
    ['[a]\npattern = x\nretentions = 60:0\n', 'above zero'],
  ])('refuses %j, naming the file and section', (text, message) => {
    expect(() => parseStorageSchemas(text, 'carbon.storage_schemas (x)')).toThrow(
      new RegExp(`carbon\\.storage_schemas \\(x\\): \\[a\\] line \\d.*${message.replace(/[()]/g, '\\$&')}`),
    );
  });

  it('is one of carbon.storage_schemas and [[retention]], not both', () => {
    const source = new ConfigSource({
      carbon: { storage_schemas: '/nonexistent' },
      retention: [{ pattern: 'x', times: ['1m:1d'] }],
    });
    expect(() => readRetentionRules(source, TIMES)).toThrow(/carbon\.storage_schemas.*keep one of them/);
  });
});
