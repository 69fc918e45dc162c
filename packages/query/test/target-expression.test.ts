import { describe, expect, it } from 'vitest';
import { parseTarget } from '@carillon/query';

describe('parseTarget', () => {
  it('parses a plain path and a glob with commas inside braces', () => {
    expect(parseTarget('servers.web1.cpu')).toEqual({ kind: 'path', path: 'servers.web1.cpu' });
    expect(parseTarget(' servers.{web1,web2}.cpu[0-3] ')).toEqual({
      kind: 'path',
      path: 'servers.{web1,web2}.cpu[0-3]',
    });
  });

  it('parses nested calls with strings, numbers and booleans', () => {
    expect(parseTarget(`alias(consolidateBy(a.{b,c}.d, 'max'), "x \\"y\\"")`)).toEqual({
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
        { kind: 'string', value: 'x "y"' },
      ],
    });
    expect(parseTarget('f(a.b, -1, 2.5, true)')).toEqual({
      kind: 'call',
      name: 'f',
      args: [
        { kind: 'path', path: 'a.b' },
        { kind: 'number', value: -1 },
        { kind: 'number', value: 2.5 },
        { kind: 'boolean', value: true },
      ],
    });
  });

  it('reads a path that starts with digits or a keyword as a path', () => {
    expect(parseTarget('f(1min.load, true.x)')).toEqual({
      kind: 'call',
      name: 'f',
      args: [
        { kind: 'path', path: '1min.load' },
        { kind: 'path', path: 'true.x' },
      ],
    });
  });

  it('parses seriesByTag with its quoted expressions', () => {
    expect(parseTarget("seriesByTag('name=disk.used', 'dc=~e.*')")).toEqual({
      kind: 'call',
      name: 'seriesByTag',
      args: [
        { kind: 'string', value: 'name=disk.used' },
        { kind: 'string', value: 'dc=~e.*' },
      ],
    });
  });

  const refused: [target: string, message: RegExp][] = [
    ['alias(a.b, "x"', /missing "\)"/],
    ["alias(a.b, 'x", /unterminated string/],
    ['a.b c.d', /unexpected text after the expression/],
    ['alias(a.b; "x")', /expected "," or "\)" but found/],
    ['', /expected an expression/],
    ['a.b(c)', /"\(" after something that is not a function name/],
  ];
  it.each(refused)('refuses %s', (target, message) => {
    expect(() => parseTarget(target)).toThrow(message);
  });

  it('bounds nesting depth', () => {
    expect(() => parseTarget('f('.repeat(10) + 'a' + ')'.repeat(10), 5)).toThrow(/nested deeper than 5/);
  });
});
