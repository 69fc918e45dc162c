import { describe, expect, it } from 'vitest';
import {
  aggregateNameOf,
  aggregationRuleFor,
  ConfigError,
  outputStorageRules,
  parseCarbonAggregationRules,
} from '@carillon/core';

const WHERE = 'carbon.aggregation_rules (test.conf)';
const STEPS = [10, 60, 600];

describe("carbon-aggregator's aggregation-rules.conf", () => {
  const rules = parseCarbonAggregationRules(
    [
      "# carbon's example",
      '<env>.applications.<app>.all.requests (60) = sum <env>.applications.<app>.*.requests',
      '<env>.applications.<app>.all.latency (60) = avg <env>.applications.<app>.*.latency',
      'all.<path>.max (10) = max hosts.*.<<path>>',
      'ids.<n>.total (600) = min ids.id-<n>x.count',
    ].join('\n'),
    WHERE,
    STEPS,
  );

  it('names each output as carbon fills its template', () => {
    expect(rules.map((r) => [r.method, r.frequency])).toEqual([
      ['sum', 60],
      ['average', 60],
      ['max', 10],
      ['min', 600],
    ]);
    expect(aggregateNameOf(rules[0]!, 'prod.applications.shop.web1.requests')).toBe(
      'prod.applications.shop.all.requests',
    );
    expect(aggregateNameOf(rules[0]!, 'prod.applications.shop.web1.requests.x')).toBeUndefined();
    expect(aggregateNameOf(rules[2]!, 'hosts.a.disk.sda.used')).toBe('all.disk.sda.used.max');
    expect(aggregateNameOf(rules[3]!, 'ids.id-42x.count')).toBe('ids.42.total');
    expect(aggregateNameOf(rules[3]!, 'ids.id-4.2x.count')).toBeUndefined();
  });

  it('stores every output with its rule method', () => {
    const storage = outputStorageRules(rules);
    expect(aggregationRuleFor('prod.applications.shop.all.latency', storage).method).toBe('average');
    expect(aggregationRuleFor('all.disk.sda.used.max', storage).method).toBe('max');
    expect(aggregationRuleFor('ids.42.total', storage).method).toBe('min');
  });

  it.each([
    ['out (60) = sum', 'is not output_template (frequency) = method input_pattern'],
    ['out (60) = p99 in.*', 'method "p99" is not one of sum, avg, min, max'],
    ['out (60) = count in.*', 'method "count" is not one of'],
    ['out (30) = sum in.*', 'frequency 30 is not the step of a resolution in times (10, 60, 600 s)'],
    ['out.<x> (60) = sum in.*', 'output "out.<x>" names <x>, not in the input'],
    ['out (60) = sum in.(a', 'input pattern "in.(a" is not one RE2 runs'],
  ])('refuses %j naming the line', (line, problem) => {
    let error: unknown;
    try {
      parseCarbonAggregationRules(`# first\n${line}\n`, WHERE, STEPS);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).key).toBe(`${WHERE} line 2`);
    expect((error as ConfigError).problem).toContain(problem);
  });
});
