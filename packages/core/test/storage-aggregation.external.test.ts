/**
 * carbon's storage-aggregation.conf by difference: carbon's own loader (Debian's graphite-carbon,
 * `carbon.storage.loadAggregationSchemas`) and carillon's reader take the same file, and for every metric name
 * both pick the same aggregation method and xFilesFactor (carbon's None meaning whisper's defaults, average and
 * 0.5). Untagged names only: carillon matches the path of a tagged series, carbon the whole tagged name
 * (docs/FROM-CARBON.md). Sections carbon skips with a log line, carillon refuses at start: those are the unit tests'.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { aggregationRuleFor, parseStorageAggregation } from '@carillon/core';

const PYTHON = '/usr/bin/python3';
const CARBON = '/usr/lib/python3/dist-packages/carbon/storage.py';

const SCRIPT = String.raw`
import json, sys
from carbon.conf import settings
settings['CONF_DIR'] = sys.argv[1]
from carbon import storage
schemas = storage.loadAggregationSchemas()
answers = {}
for name in json.load(sys.stdin):
    xff, method = next(s for s in schemas if s.matches(name)).archives
    answers[name] = {'method': method or 'average', 'xFilesFactor': 0.5 if xff is None else xff}
json.dump(answers, sys.stdout)
`;

const CONF = `# as carbon ships it, and more
[min]
pattern = \\.min$
xFilesFactor = 0.1
aggregationMethod = min

[max]
pattern = \\.max$
xFilesFactor: 0.1
aggregationMethod: max

[sum]
pattern = \\.count$
xFilesFactor = 0
aggregationMethod = sum

[gauges]
Pattern = ^stats\\.gauges\\.
AggregationMethod = last

; only a factor: carbon leaves the method to whisper's default
[legacy]
pattern = ^legacy\\.(web|db)[0-9]+\\.
xFilesFactor = 0.25

[default_average]
pattern = .*
xFilesFactor = 0.5
aggregationMethod = average
`;

const NAMES = [
  'servers.web1.latency.min',
  'servers.web1.latency.max',
  'servers.web1.requests.count',
  'stats.gauges.queue.depth',
  'stats.gauges.queue.min',
  'legacy.web12.cpu',
  'legacy.db3.count',
  'legacy.cache1.cpu',
  'min',
  'a.minimum',
  'x.count.rate',
  'plain.metric',
];

describe("storage-aggregation.conf as carbon's loader reads it", () => {
  const dir = mkdtempSync(join(tmpdir(), 'carillon-storage-aggregation-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('picks the same method and xFilesFactor for every name', () => {
    if (!existsSync(CARBON))
      throw new Error(
        'carbon is the reference here and is not installed: apt-get install -y graphite-carbon (or bash test/servers/prepare.sh)',
      );
    writeFileSync(join(dir, 'storage-aggregation.conf'), CONF);
    const carbon = JSON.parse(
      execFileSync(PYTHON, ['-c', SCRIPT, dir], { input: JSON.stringify(NAMES), encoding: 'utf8' }),
    ) as Record<string, { method: string; xFilesFactor: number }>;
    const rules = parseStorageAggregation(CONF, 'test');
    const carillon = Object.fromEntries(
      NAMES.map((name) => {
        const rule = aggregationRuleFor(name, rules);
        return [name, { method: rule.method, xFilesFactor: rule.xFilesFactor }];
      }),
    );
    expect(carillon).toEqual(carbon);
  });
});
