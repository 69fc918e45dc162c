/**
 * carbon's name rules by difference: carbon's own RewriteRuleManager and RegexList (Debian's graphite-carbon)
 * and carillon's reader take the same rewrite-rules.conf, whitelist.conf and blacklist.conf, and every name gets
 * the same verdict: refused as carbon's receiver refuses it (blacklist, then whitelist), or the same new name.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { applyKeyRules, parseRegexList, parseRewriteRules } from '@carillon/protocols';

const PYTHON = '/usr/bin/python3';
const CARBON = '/usr/lib/python3/dist-packages/carbon/rewrite.py';

const SCRIPT = String.raw`
import json, sys
from carbon.rewrite import RewriteRuleManager, PRE, POST
from carbon.regexlist import RegexList
RewriteRuleManager.rules_file = sys.argv[1]
RewriteRuleManager.read_rules()
def regex_list(path):
    l = RegexList()
    l.list_file = path
    l.read_list()
    return l
white, black = regex_list(sys.argv[2]), regex_list(sys.argv[3])
answers = {}
for name in json.load(sys.stdin):
    # as carbon's MetricReceiver.metricReceived, then the pipeline's rewrite:pre and rewrite:post
    if black and name in black:
        answers[name] = {'refused': 'blocked'}
    elif white and name not in white:
        answers[name] = {'refused': 'not_allowed'}
    else:
        out = name
        for ruleset in (PRE, POST):
            for rule in RewriteRuleManager.rules(ruleset):
                out = rule.apply(out)
        answers[name] = {'keys': [out], 'forwarded': True}
json.dump(answers, sys.stdout)
`;

const REWRITE = String.raw`# carbon's example and more
[pre]
^collectd\.([a-z0-9-]+)\.cpu-(\d+)\. = servers.\1.cpu.\2.
\.total$ = .sum
-  = _

[post]
_sum$ =
^(?P<env>prod|staging)\.(?P<rest>.*)$ = \g<rest>.\g<env>
cpu = CPU
`;

const WHITELIST = String.raw`# only these
^servers\.
^prod\.
^staging\.
^collectd\.
`;

const BLACKLIST = String.raw`\.debug\.
^servers\.secret
`;

const NAMES = [
  'collectd.web-01.cpu-0.user',
  'collectd.web-01.cpu-12.idle',
  'servers.a.requests.total',
  'servers.a-b.c-d',
  'servers.secret.key',
  'prod.app.cpu.value',
  'prod.app.errors_sum',
  'staging.x.debug.y',
  'staging.total',
  'dev.app.cpu',
  'other',
  'prod.',
  'servers.ünïcode-ø.total',
];

describe("carbon's rewrite rules and lists, as carbon reads them", () => {
  const dir = mkdtempSync(join(tmpdir(), 'carillon-key-rules-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('gives every name the same verdict', () => {
    if (!existsSync(CARBON))
      throw new Error(
        'carbon is the reference here and is not installed: apt-get install -y graphite-carbon (or bash test/servers/prepare.sh)',
      );
    const files = ['rewrite-rules.conf', 'whitelist.conf', 'blacklist.conf'].map((f) => join(dir, f));
    [REWRITE, WHITELIST, BLACKLIST].forEach((text, i) => writeFileSync(files[i]!, text));
    const carbon = JSON.parse(
      execFileSync(PYTHON, ['-c', SCRIPT, ...files], { input: JSON.stringify(NAMES), encoding: 'utf8' }),
    ) as Record<string, unknown>;
    const rules = {
      ...parseRewriteRules(REWRITE, 'rewrite'),
      aggregate: [],
      whitelist: parseRegexList(WHITELIST, 'whitelist'),
      blacklist: parseRegexList(BLACKLIST, 'blacklist'),
    };
    const carillon = Object.fromEntries(NAMES.map((name) => [name, applyKeyRules(rules, name)]));
    expect(carillon).toEqual(carbon);
  });
});
