/**
 * The Python number formatting series names and values depend on, against Python itself (Debian's python3):
 * repr/str of floats, '%g', '%.2f', '%d', and round() with its ties to even on the exact value of the double.
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { pyFloat, pyG, pyPercent, pyRound } from '../../packages/query/src/functions/python-format.js';
import { ensureGraphiteWeb, PYTHON } from './graphite-web.js';

const VALUES = [
  0,
  1,
  -1,
  2.5,
  3.5,
  -2.5,
  0.125,
  0.375,
  1e-5,
  0.0001,
  123456,
  1234567,
  1e15,
  1e16,
  1.5e16,
  2 ** 53,
  -34.185,
  -6.7475,
  0.1 + 0.2,
  100,
  1 / 3,
  2 / 3,
  12345.678,
  9.995,
  1.005,
  5e-324,
  1.7976931348623157e308,
  86.512,
  0.5,
  1.5,
];

const SCRIPT = `
import json, sys
out = []
for x in json.loads(sys.argv[1]):
    out.append([repr(float(x)), '%g' % x, round(x, 2), round(x, 6), round(x, 0), '%.2f' % x, '%d' % x, '%08.3f' % x])
print(json.dumps(out))
`;

describe('Python number formatting, against python3', () => {
  it('formats every value as Python does', () => {
    ensureGraphiteWeb();
    const expected = JSON.parse(execFileSync(PYTHON, ['-c', SCRIPT, JSON.stringify(VALUES)]).toString()) as [
      string,
      string,
      number,
      number,
      number,
      string,
      string,
      string,
    ][];
    const actual = VALUES.map((x) => [
      pyFloat(x),
      pyG(x),
      pyRound(x, 2),
      pyRound(x, 6),
      pyRound(x, 0),
      pyPercent('%.2f', x),
      pyPercent('%d', x),
      pyPercent('%08.3f', x),
    ]);
    // JSON has no -0: a rounded -0.0 from Python arrives as 0
    expect(actual.map((row) => row.map((v) => (Object.is(v, -0) ? 0 : v)))).toEqual(expected);
  });
});
