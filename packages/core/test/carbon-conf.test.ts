import { describe, expect, it } from 'vitest';
import {
  aggregationRuleFor,
  ConfigError,
  DEFAULT_RULE,
  parseCarbonConf,
  parseStorageAggregation,
} from '@carillon/core';

const WHERE = 'carbon.storage_aggregation (test.conf)';

describe('parseCarbonConf', () => {
  it('reads sections in order, both delimiters, comments and continued values, names lower-cased', () => {
    const sections = parseCarbonConf(
      [
        '# a comment',
        '[first]',
        'Pattern = ^a\\.',
        '; another',
        'xFilesFactor: 0.1',
        '',
        '[second]',
        'k = one',
        '  two',
      ].join('\n'),
      WHERE,
    );
    expect(sections.map((s) => s.name)).toEqual(['first', 'second']);
    expect(Object.fromEntries([...sections[0]!.options].map(([k, v]) => [k, v.value]))).toEqual({
      pattern: '^a\\.',
      xfilesfactor: '0.1',
    });
    expect(sections[1]!.options.get('k')).toEqual({ value: 'one\ntwo', line: 8 });
  });

  it.each([
    ['pattern = x\n', 'line 1: "pattern = x" comes before any [section]'],
    ['[a]\njust words\n', 'line 2: "just words" is neither [section] nor key = value'],
    ['[a]\n[a]\n', 'line 2: section [a] appears twice'],
  ])('refuses %j naming the line', (text, message) => {
    expect(() => parseCarbonConf(text, WHERE)).toThrow(new ConfigError(WHERE, message).message);
  });
});

describe('parseStorageAggregation', () => {
  const text = [
    '[min]',
    'pattern = \\.min$',
    'xFilesFactor = 0.1',
    'aggregationMethod = min',
    '[count]',
    'pattern = \\.count$',
    'aggregationMethod = sum',
    '[only_factor]',
    'pattern = ^legacy\\.',
    'xFilesFactor = 0',
  ].join('\n');

  it('keeps carbon order, carbon defaults (average, 0.5) and its default rule last', () => {
    const rules = parseStorageAggregation(text, WHERE);
    expect(rules.map((r) => [r.pattern.source, r.method, r.xFilesFactor])).toEqual([
      ['\\.min$', 'min', 0.1],
      ['\\.count$', 'sum', 0.5],
      ['^legacy\\.', 'average', 0],
      [DEFAULT_RULE.pattern.source, 'average', 0.5],
    ]);
    expect(aggregationRuleFor('legacy.x.min', rules).method).toBe('min');
    expect(aggregationRuleFor('legacy.x', rules).xFilesFactor).toBe(0);
    expect(aggregationRuleFor('other', rules)).toBe(DEFAULT_RULE);
  });

  it.each([
    ['[a]\nxFilesFactor = 0\n', `${WHERE}: [a] line 1`, 'has no pattern'],
    ['[a]\npattern = (\n', `${WHERE}: [a] line 2`, 'pattern is not a valid regular expression'],
    [
      '[a]\npattern = x\naggregationMethod = absmax\n',
      `${WHERE}: [a] line 3`,
      'aggregationMethod "absmax" is not one of',
    ],
    [
      '[a]\npattern = x\nxFilesFactor = 1.5\n',
      `${WHERE}: [a] line 3`,
      'xFilesFactor "1.5" must be a number from 0 to 1',
    ],
    ['[a]\npattern = x\nxFilesFactor = half\n', `${WHERE}: [a] line 3`, 'xFilesFactor "half" must be a number'],
  ])('refuses %j naming the section and line', (conf, key, message) => {
    let error: unknown;
    try {
      parseStorageAggregation(conf, WHERE);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).key).toBe(key);
    expect((error as ConfigError).problem).toContain(message);
  });
});
