/**
 * carbon's storage-schemas.conf by difference: carbon's own loader (Debian's graphite-carbon,
 * `carbon.storage.loadStorageSchemas`) and carillon's reader take the same file, and for every metric name both
 * give the same archives (secondsPerPoint, points). Names no section matches: carbon falls back to its 60s:7d,
 * carillon to `times` (docs/FROM-CARBON.md), so every name here is matched by a section of the file. Retentions
 * carbon cannot parse stop both; sections carbon skips with a log line, carillon refuses (the unit tests').
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, parseResolutions, parseStorageSchemas, retentionFor, retentionRules } from '@carillon/core';

const PYTHON = '/usr/bin/python3';
const CARBON = '/usr/lib/python3/dist-packages/carbon/storage.py';

const SCRIPT = String.raw`
import json, sys
from carbon.conf import settings
settings['CONF_DIR'] = sys.argv[1]
from carbon import storage
try:
    schemas = storage.loadStorageSchemas()
except SystemExit:
    json.dump(None, sys.stdout)
    sys.exit(0)
answers = {}
for name in json.load(sys.stdin):
    schema = next(s for s in schemas if s.matches(name))
    answers[name] = [list(a.getTuple()) for a in schema.archives]
json.dump(answers, sys.stdout)
`;

const CONF = `# as carbon ships it, and more
[carbon]
pattern = ^carbon\\.
retentions = 60:90d

[web]
Pattern: ^web[0-9]+\\.
retentions = 10s:6h, 1m:7d,10m:5y

; seconds and point counts, a continued line, a retention not a whole number of steps
[counts]
pattern = \\.count$
retentions = 10:360,
  60s:1w , 600:10001s

[yearly]
pattern = ^archive\\.
retentions = 1h:2y

[default_1min_for_1day]
pattern = .*
retentions = 60s:1d
`;

const NAMES = [
  'carbon.agents.a.cpuUsage',
  'web1.requests',
  'web12.latency.p99',
  'web1.requests.count',
  'db.requests.count',
  'archive.sales',
  'webx.requests',
  'plain.metric',
];

/** carillon's archives of `name` under `conf`, with every step a step of `times`. */
function carillonArchives(conf: string, times: string[], names: readonly string[]): Record<string, number[][]> {
  const rules = retentionRules(parseStorageSchemas(conf, 'test'), parseResolutions(times));
  return Object.fromEntries(
    names.map((name) => [name, retentionFor(name, rules).map((r) => [r.step, r.ttl / r.step])]),
  );
}

function carbonArchives(dir: string, conf: string, names: readonly string[]): Record<string, number[][]> | null {
  if (!existsSync(CARBON))
    throw new Error(
      'carbon is the reference here and is not installed: apt-get install -y graphite-carbon (or bash test/servers/prepare.sh)',
    );
  writeFileSync(join(dir, 'storage-schemas.conf'), conf);
  return JSON.parse(
    execFileSync(PYTHON, ['-c', SCRIPT, dir], { input: JSON.stringify(names), encoding: 'utf8' }),
  ) as Record<string, number[][]> | null;
}

describe("storage-schemas.conf as carbon's loader reads it", () => {
  const dir = mkdtempSync(join(tmpdir(), 'carillon-storage-schemas-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('gives every name the same archives', () => {
    const carbon = carbonArchives(dir, CONF, NAMES);
    expect(carbon).not.toBeNull();
    expect(carillonArchives(CONF, ['10s:1d', '1m:7d', '10m:5y', '1h:2y'], NAMES)).toEqual(carbon);
  });

  it.each([
    ['a unit carbon does not know', '1min:7d'],
    ['a word for a unit', '10seconds:1d'],
    ['no colon', '60'],
    ['two colons', '60:1d:2d'],
    ['a fraction', '1.5m:1d'],
  ])('refuses a retention carbon refuses: %s', (_, retention) => {
    const conf = `[a]\npattern = .*\nretentions = ${retention}\n`;
    expect(carbonArchives(dir, conf, ['x'])).toBeNull();
    expect(() => parseStorageSchemas(conf, 'test')).toThrow(ConfigError);
  });
});
