import { describe, expect, it } from 'vitest';
import { ConfigError, MetricsRegistry, parseCarbonAggregationRules } from '@carillon/core';
import {
  applyKeyRules,
  LineCounters,
  parseRegexList,
  parseRewriteRules,
  pythonTemplate,
  withKeyRules,
  type KeyRules,
} from '@carillon/protocols';

const WHERE = 'carbon.rewrite_rules (test.conf)';

function rules(rewrite = '', whitelist = '', blacklist = '', aggregation = ''): KeyRules {
  return {
    ...parseRewriteRules(rewrite, WHERE),
    whitelist: parseRegexList(whitelist, 'carbon.whitelist'),
    blacklist: parseRegexList(blacklist, 'carbon.blacklist'),
    aggregate: parseCarbonAggregationRules(aggregation, 'carbon.aggregation_rules', [10, 60]),
  };
}

describe('carbon key rules', () => {
  it('blacklist first, then the whitelist, then [pre] and [post] rewrites in file order', () => {
    const r = rules(
      ['[post]', '\\.total$ = .sum', '[pre]', '^prod\\.(\\w+)\\. = \\1.prod.', 'cpu = processor'].join('\n'),
      ['# only these', '^prod\\.', '^staging\\.'].join('\n'),
      ['\\.debug\\.'].join('\n'),
    );
    expect(applyKeyRules(r, 'prod.web.cpu.total')).toEqual({ keys: ['web.prod.processor.sum'], forwarded: true });
    expect(applyKeyRules(r, 'staging.cpu')).toEqual({ keys: ['staging.processor'], forwarded: true });
    expect(applyKeyRules(r, 'prod.web.debug.x')).toEqual({ refused: 'blocked' });
    expect(applyKeyRules(r, 'dev.web.cpu')).toEqual({ refused: 'not_allowed' });
    // re.sub replaces every match
    expect(applyKeyRules(rules('[pre]\ncpu = c'), 'cpu.cpu.x')).toEqual({ keys: ['c.c.x'], forwarded: true });
    // an empty whitelist allows everything
    expect(applyKeyRules(rules('', '\n# none\n'), 'any.name')).toEqual({ keys: ['any.name'], forwarded: true });
  });

  it('adds the outputs of aggregation rules between the [pre] and [post] rewrites', () => {
    const r = rules(
      '[pre]\n^old\\. = app.\n[post]\n\\.total$ = .sum',
      '',
      '',
      [
        'app.all.<m> (60) = sum app.*.<m>',
        'app.<host>.total (10) = avg app.<host>.<<rest>>',
        'x.<a> (60) = max x.<a>',
      ].join('\n'),
    );
    expect(applyKeyRules(r, 'old.web1.cpu')).toEqual({
      keys: ['app.web1.cpu', 'app.all.cpu', 'app.web1.sum'],
      forwarded: true,
    });
    expect(applyKeyRules(r, 'app.web1.disk.sda')).toEqual({
      keys: ['app.web1.disk.sda', 'app.web1.sum'],
      forwarded: true,
    });
    // its own output: not forwarded a second time, as carbon-aggregator
    expect(applyKeyRules(r, 'x.y')).toEqual({ keys: ['x.y'], forwarded: false });
    expect(applyKeyRules(r, 'other')).toEqual({ keys: ['other'], forwarded: true });
  });

  it("expands Python's re.sub templates", () => {
    const expand = (template: string, pattern: RegExp, text: string): string => {
      const match = pattern.exec(text)!;
      return pythonTemplate(template, WHERE)([...match], match.groups ?? {});
    };
    expect(expand('\\2-\\1', /(a)(b)/, 'ab')).toBe('b-a');
    expect(expand('\\g<2>0\\g<first>', /(?<first>a)(b)/, 'ab')).toBe('b0a');
    expect(expand('x\\\\y\\.z', /a/, 'a')).toBe('x\\y\\.z');
    expect(expand('[\\3]', /(a)|(b)|(c)/, 'a')).toBe('[]');
    expect(() => pythonTemplate('\\q', WHERE)).toThrow(/bad escape \\q/);
  });

  it.each([
    ['x = y\n', 'line 1', 'comes before [pre] or [post]'],
    ['[pre]\nno equals here\n', 'line 2', 'is neither a [section] nor pattern = replacement'],
    ['[middle]\n', 'line 1', "carbon's sections are [pre] and [post]"],
    ['[pre]\n(a = b\n', 'line 2', 'is not a regular expression RE2 runs'],
    ['[pre]\n(a)\\1 = b\n', 'line 2', 'is not a regular expression RE2 runs'],
  ])('refuses %j naming the line', (text, line, problem) => {
    let error: unknown;
    try {
      parseRewriteRules(text, WHERE);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).key).toBe(`${WHERE} ${line}`);
    expect((error as ConfigError).problem).toContain(problem);
  });

  it('rewrites lines in place of their name, counts refusals, passes keyless lines to the parser', () => {
    const registry = new MetricsRegistry();
    const counters = new LineCounters(registry, 'graphite');
    const seen: string[] = [];
    const handler = withKeyRules(rules('[pre]\n^old\\. = new.', '', '^secret\\.'), counters, (buf, start, end) =>
      seen.push(Buffer.from(buf.subarray(start, end)).toString()),
    );
    const text = Buffer.from('xxold.a.b 1 100\nsecret.x 2 100\nkept.name 3 100\n   \nold.ünï;k=v 4\n');
    const ranges = [
      [2, 15],
      [16, 30],
      [31, 46],
      [47, 50],
      [51, text.length - 1],
    ];
    for (const [start, end] of ranges) handler(text, start!, end!);
    expect(seen).toEqual(['new.a.b 1 100', 'kept.name 3 100', '   ', 'new.ünï;k=v 4']);
    expect(registry.value('lines_rejected_total', 'graphite', 'blocked')).toBe(1);
  });
});
