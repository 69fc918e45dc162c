/**
 * carbon-aggregator's rule names by difference: carbon's own AggregationRule (Debian's graphite-carbon) and
 * carillon's parser take the same rules, and for every metric name both name the same output (or none).
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { aggregateNameOf, parseCarbonAggregationRules } from '@carillon/core';

const PYTHON = '/usr/bin/python3';
const CARBON = '/usr/lib/python3/dist-packages/carbon/aggregator/rules.py';

const SCRIPT = String.raw`
import json, sys
from carbon.aggregator.rules import RuleManager
request = json.load(sys.stdin)
rules = [RuleManager.parse_definition(line) for line in request['rules']]
json.dump([[rule.get_aggregate_metric(name) for rule in rules] for name in request['names']], sys.stdout)
`;

const RULES = [
  '<env>.applications.<app>.all.requests (60) = sum <env>.applications.<app>.*.requests',
  '<env>.applications.<app>.all.latency (60) = avg <env>.applications.<app>.*.latency',
  'all.<path>.max (10) = max hosts.*.<<path>>',
  'ids.<n>.total (60) = min ids.id-<n>x.count',
  'stats.<a>_<b>.sum (10) = sum raw.<a>.<b>.*',
  'web.total (60) = sum web*.requests',
];

const NAMES = [
  'prod.applications.shop.web1.requests',
  'prod.applications.shop.web1.latency',
  'prod.applications.shop.web1.requests.x',
  'prod.applications.shop.requests',
  'hosts.a.disk.sda.used',
  'hosts.a',
  'hosts.a.b',
  'ids.id-42x.count',
  'ids.id-4.2x.count',
  'ids.id-x.count',
  'raw.x.y.z',
  'raw.x.y',
  'webfront.requests',
  'web.requests',
  'api.requests',
];

describe("carbon-aggregator's rules, named as carbon names them", () => {
  it('gives every name the same outputs', () => {
    if (!existsSync(CARBON))
      throw new Error(
        'carbon is the reference here and is not installed: apt-get install -y graphite-carbon (or bash test/servers/prepare.sh)',
      );
    const carbon = JSON.parse(
      execFileSync(PYTHON, ['-c', SCRIPT], { input: JSON.stringify({ rules: RULES, names: NAMES }), encoding: 'utf8' }),
    ) as (string | null)[][];
    const rules = parseCarbonAggregationRules(RULES.join('\n'), 'test', [10, 60]);
    const carillon = NAMES.map((name) => rules.map((rule) => aggregateNameOf(rule, name) ?? null));
    expect(Object.fromEntries(NAMES.map((n, i) => [n, carillon[i]]))).toEqual(
      Object.fromEntries(NAMES.map((n, i) => [n, carbon[i]])),
    );
  });
});
