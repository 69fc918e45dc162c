import { QueryError } from './errors.js';

/**
 * Graphite's `from`/`until` (its parseATTime), in UTC: `now`, epoch seconds, relative offsets (`-1h`, `-10min`,
 * `-2d`, `-1w`, `-30s`, `-3mon`, `-1y`, chained as `-1h30min`), `HH:MM_YYYYMMDD`, `YYYYMMDD`, `HH:MM`, `today`,
 * `yesterday`, `tomorrow`, `midnight`, `noon`, each optionally followed by an offset (`midnight-1d`).
 * Returns epoch seconds.
 */
export function parseTimeSpec(text: string, nowSeconds: number): number {
  const s = text.trim().toLowerCase().replace(/[_, ]/g, '');
  if (s.length === 0) throw new QueryError('empty time');
  if (/^\d+$/.test(s) && !isYyyymmdd(s)) return Number(s);
  if (/^\d\d:\d\d\d{8}$/.test(s)) return atClock(dateOf(s.slice(5), text), s.slice(0, 5), text);
  const sign = s.search(/[+-]/);
  const reference = sign < 0 ? s : s.slice(0, sign);
  const offset = sign < 0 ? '' : s.slice(sign);
  return parseReference(reference, nowSeconds, text) + parseOffset(offset, text);
}

function isYyyymmdd(s: string): boolean {
  return s.length === 8 && Number(s.slice(0, 4)) > 1900 && Number(s.slice(4, 6)) < 13 && Number(s.slice(6)) < 32;
}

const DAY = 86400;

function parseReference(reference: string, now: number, original: string): number {
  const today = Math.floor(now / DAY) * DAY;
  switch (reference) {
    case '':
    case 'now':
      return now;
    case 'today':
    case 'midnight':
      return today;
    case 'yesterday':
      return today - DAY;
    case 'tomorrow':
      return today + DAY;
    case 'noon':
      return today + 12 * 3600;
  }
  if (/^\d{8}$/.test(reference)) return dateOf(reference, original);
  if (/^\d\d:\d\d$/.test(reference)) return atClock(today, reference, original);
  throw new QueryError(
    `invalid time "${original}": expected now, epoch seconds, -1h style offsets, HH:MM_YYYYMMDD or YYYYMMDD`,
  );
}

function dateOf(yyyymmdd: string, original: string): number {
  const year = Number(yyyymmdd.slice(0, 4));
  const month = Number(yyyymmdd.slice(4, 6));
  const day = Number(yyyymmdd.slice(6, 8));
  const ms = Date.UTC(year, month - 1, day);
  const check = new Date(ms);
  if (check.getUTCFullYear() !== year || check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day)
    throw new QueryError(`invalid time "${original}": ${yyyymmdd} is not a date`);
  return ms / 1000;
}

function atClock(dayStart: number, hhmm: string, original: string): number {
  const hours = Number(hhmm.slice(0, 2));
  const minutes = Number(hhmm.slice(3, 5));
  if (hours > 23 || minutes > 59) throw new QueryError(`invalid time "${original}": ${hhmm} is not a time of day`);
  return dayStart + hours * 3600 + minutes * 60;
}

/** Unit prefixes as Graphite's getUnitString reads them; a bare `m` is ambiguous there too, so it is refused. */
function unitSeconds(unit: string, original: string): number {
  if (unit.startsWith('s')) return 1;
  if (unit.startsWith('min')) return 60;
  if (unit.startsWith('h')) return 3600;
  if (unit.startsWith('d')) return DAY;
  if (unit.startsWith('w')) return 7 * DAY;
  if (unit.startsWith('mon')) return 30 * DAY;
  if (unit.startsWith('y')) return 365 * DAY;
  throw new QueryError(`invalid time "${original}": unknown unit "${unit}" (use s, min, h, d, w, mon or y)`);
}

function parseOffset(offset: string, original: string): number {
  if (offset.length === 0) return 0;
  const sign = offset[0] === '-' ? -1 : 1;
  let rest = offset.slice(1);
  if (rest.length === 0) throw new QueryError(`invalid time "${original}": offset has no amount`);
  let seconds = 0;
  while (rest.length > 0) {
    const match = /^(\d+)([a-z]+)/.exec(rest);
    if (!match) throw new QueryError(`invalid time "${original}": expected an offset like -1h or -10min`);
    seconds += Number(match[1]) * unitSeconds(match[2]!, original);
    rest = rest.slice(match[0].length);
  }
  return sign * seconds;
}
