import { describe, expect, it } from 'vitest';
import { firstPathExpression, parseTarget } from '@carillon/query';

describe('parseTarget', () => {
  it('parses a plain path and a glob with commas inside braces', () => {
    expect(parseTarget('servers.web1.cpu')).toMatchObject({ kind: 'path', path: 'servers.web1.cpu' });
    expect(parseTarget(' servers.{web1,web2}.cpu[0-3] ')).toMatchObject({
      kind: 'path',
      path: 'servers.{web1,web2}.cpu[0-3]',
    });
  });

  it('keeps string contents verbatim, backslashes included, as graphite-web does', () => {
    expect(parseTarget(`alias(consolidateBy(a.{b,c}.d, 'max'), "x \\"y\\"")`)).toMatchObject({
      kind: 'call',
      name: 'alias',
      args: [
        {
          kind: 'call',
          name: 'consolidateBy',
          args: [
            { kind: 'path', path: 'a.{b,c}.d' },
            { kind: 'string', value: 'max' },
          ],
        },
        { kind: 'string', value: 'x \\"y\\"' },
      ],
    });
    expect(parseTarget('alias(a, "\\1 A")')).toMatchObject({ args: [{}, { kind: 'string', value: '\\1 A' }] });
  });

  it('parses numbers (int, float, scientific), booleans, None, inf and keyword arguments', () => {
    expect(parseTarget('f(a.b, -1, 2.5, 1e3, true, None, inf, x=FALSE)')).toMatchObject({
      kind: 'call',
      name: 'f',
      args: [
        { kind: 'path', path: 'a.b' },
        { kind: 'number', value: -1, integer: true },
        { kind: 'number', value: 2.5, integer: false },
        { kind: 'number', value: 1000, integer: false },
        { kind: 'boolean', value: true },
        { kind: 'none' },
        { kind: 'number', value: Infinity },
      ],
      kwargs: [{ name: 'x', value: { kind: 'boolean', value: false } }],
    });
  });

  it('reads a path that starts with digits as a path, and pipes as nested calls', () => {
    expect(parseTarget('f(1min.load)')).toMatchObject({ args: [{ kind: 'path', path: '1min.load' }] });
    expect(parseTarget('a.b | scale(2) | alias("x")')).toMatchObject({
      kind: 'call',
      name: 'alias',
      args: [{ kind: 'call', name: 'scale', args: [{ kind: 'path', path: 'a.b' }, { value: 2 }] }, { value: 'x' }],
    });
  });

  it('unescapes symbols in paths and keeps the raw text of calls', () => {
    expect(parseTarget('a\\(b\\).c')).toMatchObject({ kind: 'path', path: 'a(b).c' });
    expect(parseTarget("  seriesByTag('name=disk.used', 'dc=~e.*')")).toMatchObject({
      kind: 'call',
      name: 'seriesByTag',
      raw: "seriesByTag('name=disk.used', 'dc=~e.*')",
      args: [
        { kind: 'string', value: 'name=disk.used' },
        { kind: 'string', value: 'dc=~e.*' },
      ],
    });
  });

  it('finds the first path expression of a series name', () => {
    expect(firstPathExpression('sumSeries(scale(a.b.c,2),x.y)')).toBe('a.b.c');
    expect(firstPathExpression('a.b A')).toBeUndefined();
  });

  // graphite-web reads the longest prefix that parses and ignores the rest; carillon refuses with the position
  const refused: [target: string, message: RegExp][] = [
    ['alias(a.b, "x"', /at character 15: missing "\)"/],
    ["alias(a.b, 'x", /unterminated string/],
    ['a.b c.d', /at character 5: unexpected text after the expression/],
    ['alias(a.b; "x")', /expected "," or "\)" but found/],
    ['', /expected a series path or a function call/],
    ['a.b(c)', /at character 4: unexpected text/],
    ['f(a.b, x=1, 2)', /positional argument cannot follow a keyword argument/],
    ['f(true.x)', /expected "," or "\)" but found "."/],
  ];
  it.each(refused)('refuses %s', (target, message) => {
    expect(() => parseTarget(target)).toThrow(message);
  });

  it('bounds nesting depth', () => {
    expect(() => parseTarget('f('.repeat(10) + 'a' + ')'.repeat(10), 5)).toThrow(/nested deeper than 5/);
  });
});
