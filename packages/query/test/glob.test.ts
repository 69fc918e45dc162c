import { describe, expect, it } from 'vitest';
import { compileNodeGlob, compilePathGlob, QueryError, splitPathQuery } from '@carillon/query';

describe('compileNodeGlob', () => {
  const table: [pattern: string, node: string, matches: boolean][] = [
    ['cpu', 'cpu', true],
    ['cpu', 'cpu0', false],
    ['*', 'anything', true],
    ['cpu*', 'cpu', true],
    ['cpu*', 'cpu12', true],
    ['cpu*', 'xcpu', false],
    ['*er', 'user', true],
    ['*er', 'users', false],
    ['c?u', 'cpu', true],
    ['c?u', 'cu', false],
    ['c?u', 'cpuu', false],
    ['web[0-9]', 'web7', true],
    ['web[0-9]', 'webx', false],
    ['web[0-9]', 'web10', false],
    ['web[!0-9]', 'webx', true],
    ['web[!0-9]', 'web3', false],
    ['[!abc]pu', 'cpu', false],
    ['[!abc]pu', 'gpu', true],
    ['[abc]', 'b', true],
    ['[a-z]x', 'qx', true],
    ['{web,db}1', 'web1', true],
    ['{web,db}1', 'db1', true],
    ['{web,db}1', 'dns1', false],
    ['{web,db}', 'web1', false],
    ['host{1,2,{7,8}}', 'host8', true],
    ['host{1,2,{7,8}}', 'host3', false],
    ['{,pre}fix', 'fix', true],
    ['{,pre}fix', 'prefix', true],
    ['{a*,b?}z', 'aaaz', true],
    ['{a*,b?}z', 'bxxz', false],
    // regex characters are literal in globs
    ['a+b', 'a+b', true],
    ['a+b', 'aab', false],
    ['a(b)', 'a(b)', true],
    ['50%', '50%', true],
    ['x$', 'x$', true],
    // unclosed brackets and braces are literal, as fnmatch treats them
    ['a[b', 'a[b', true],
    ['a{b', 'a{b', true],
    ['a{b', 'ab', false],
  ];
  it.each(table)('%s against %s → %s', (pattern, node, matches) => {
    expect(compileNodeGlob(pattern).test(node)).toBe(matches);
  });

  it('turns a pattern without wildcards into a literal for direct lookups', () => {
    expect(compileNodeGlob('cpu').literal).toBe('cpu');
    expect(compileNodeGlob('cp*').literal).toBeNull();
  });

  it('refuses an invalid class range with a QueryError', () => {
    expect(() => compileNodeGlob('[z-a]')).toThrow(QueryError);
    expect(() => compileNodeGlob('[z-a]')).toThrow(/invalid glob "\[z-a\]"/);
  });
});

describe('path queries', () => {
  it('splits at dots outside braces and brackets', () => {
    expect(splitPathQuery('a.{b,c}.d')).toEqual(['a', '{b,c}', 'd']);
    expect(splitPathQuery('a.{b.x,c}')).toEqual(['a', '{b.x,c}']);
    expect(splitPathQuery('a')).toEqual(['a']);
  });

  it('compiles one matcher per node and refuses empty nodes', () => {
    const matchers = compilePathGlob('servers.web[12].cpu');
    expect(matchers.map((m) => m.literal)).toEqual(['servers', null, 'cpu']);
    expect(matchers[1]!.test('web2')).toBe(true);
    expect(() => compilePathGlob('a..b')).toThrow(/empty node/);
    expect(() => compilePathGlob('')).toThrow(/empty metric query/);
  });
});
