import { describe, expect, it } from 'vitest';
import { parseTimeSpec, QueryError } from '@carillon/query';

// 2023-11-14T22:13:20Z
const NOW = 1_700_000_000;
const MIDNIGHT = 1_699_920_000;

describe('parseTimeSpec', () => {
  const table: [text: string, expected: number][] = [
    ['now', NOW],
    ['NOW', NOW],
    ['-1h', NOW - 3600],
    ['-10min', NOW - 600],
    ['-10minutes', NOW - 600],
    ['-2d', NOW - 2 * 86400],
    ['-1w', NOW - 7 * 86400],
    ['-30s', NOW - 30],
    ['-30seconds', NOW - 30],
    ['-3mon', NOW - 90 * 86400],
    ['-1y', NOW - 365 * 86400],
    ['-1h30min', NOW - 5400],
    ['+1h', NOW + 3600],
    ['now-1d', NOW - 86400],
    ['1699999000', 1_699_999_000],
    ['0', 0],
    ['20231114', MIDNIGHT],
    ['12:30_20231114', MIDNIGHT + 12 * 3600 + 30 * 60],
    ['00:00_20240229', 1_709_164_800],
    ['midnight', MIDNIGHT],
    ['today', MIDNIGHT],
    ['yesterday', MIDNIGHT - 86400],
    ['tomorrow', MIDNIGHT + 86400],
    ['noon', MIDNIGHT + 12 * 3600],
    ['noon-1d', MIDNIGHT - 12 * 3600],
    ['08:15', MIDNIGHT + 8 * 3600 + 15 * 60],
    ['20231114-1d', MIDNIGHT - 86400],
    // eight digits that cannot be a date are epoch seconds, as in graphite-web
    ['20231332', 20_231_332],
  ];
  it.each(table)('%s', (text, expected) => {
    expect(parseTimeSpec(text, NOW)).toBe(expected);
  });

  const refused: [text: string, message: RegExp][] = [
    ['-1m', /unknown unit "m"/],
    ['-1fortnight', /unknown unit "fortnight"/],
    ['-h', /expected a number in the offset/],
    ['yesterdayish', /invalid time "yesterdayish"/],
    ['20230230', /2023-2-30 is not a date/],
    ['25:00_20231114', /25:0 is not a time of day/],
  ];
  // graphite-web's parseATTime reads an empty time and a bare sign as now
  it.each(['', '-', 'now'])('reads %j as now', (text) => {
    expect(parseTimeSpec(text, NOW)).toBe(NOW);
  });

  it.each(refused)('refuses %s', (text, message) => {
    expect(() => parseTimeSpec(text, NOW)).toThrow(QueryError);
    expect(() => parseTimeSpec(text, NOW)).toThrow(message);
  });
});
