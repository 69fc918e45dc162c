import { QueryError } from './errors.js';

/**
 * Graphite's `from`/`until`/`now` exactly as graphite-web 1.1.8's parseATTime reads them, in UTC: `now`, epoch
 * seconds, offsets (`-1h`, `-10min`, `-2d`, `-1w`, `-3mon` = 90 days, `-1y` = 365 days, chained as `-1h30min`),
 * `HH:MM`, `HH:MMam`, `9pm`, `noon`, `midnight`, `teatime`, then `today`, `yesterday`, `tomorrow`, `YYYYMMDD`,
 * `MM/DD/YY[YY]`, a month name and day (`jan1`) or a weekday (`monday`), each optionally followed by one offset
 * (`midnight-1d`, `noon yesterday`). `_`, `,` and spaces are ignored. Returns epoch seconds.
 */
export function parseTimeSpec(text: string, nowSeconds: number): number {
  const s = text.trim().toLowerCase().replace(/[_, ]/g, '');
  if (/^\d+$/.test(s) && !looksLikeYyyymmdd(s)) return Number(s);
  // graphite-web splits at the first '+', or else at the first '-'
  const at = s.includes('+') ? s.indexOf('+') : s.indexOf('-');
  const reference = at < 0 ? s : s.slice(0, at);
  const offset = at < 0 ? '' : s.slice(at);
  return parseReference(reference, nowSeconds, text) + parseOffset(offset, text);
}

function looksLikeYyyymmdd(s: string): boolean {
  return s.length === 8 && Number(s.slice(0, 4)) > 1900 && Number(s.slice(4, 6)) < 13 && Number(s.slice(6)) < 32;
}

const DAY = 86400;
const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

function invalid(original: string, why: string): QueryError {
  return new QueryError(`invalid time "${original}": ${why}`);
}

/** Python's int() of a run of digits; anything else is the ValueError graphite-web answers 400 for. */
function integer(text: string, original: string): number {
  if (!/^\d+$/.test(text)) throw invalid(original, `"${text}" is not a number`);
  return Number(text);
}

/** Epoch seconds of a UTC calendar time, refusing dates that do not exist (as Python's datetime does). */
function utc(original: string, year: number, month: number, day: number, hour: number, minute: number): number {
  if (hour > 23 || minute > 59) throw invalid(original, `${hour}:${minute} is not a time of day`);
  const ms = Date.UTC(year, month - 1, day, hour, minute);
  const d = new Date(ms);
  if (year < 1 || d.getUTCFullYear() !== year || d.getUTCMonth() !== month - 1 || d.getUTCDate() !== day)
    throw invalid(original, `${year}-${month}-${day} is not a date`);
  return ms / 1000;
}

function parseReference(reference: string, now: number, original: string): number {
  if (reference === '' || reference === 'now') return now;
  let ref = reference;
  let hour = 0;
  let minute = 0;
  let i = ref.indexOf(':');
  if (i > 0 && i < 3) {
    hour = integer(ref.slice(0, i), original);
    minute = integer(ref.slice(i + 1, i + 3), original);
    ref = ref.slice(i + 3);
    if (ref.startsWith('am')) ref = ref.slice(2);
    else if (ref.startsWith('pm')) {
      hour = (hour + 12) % 24;
      ref = ref.slice(2);
    }
  }
  i = ref.indexOf('am');
  if (i > 0 && i < 3) {
    hour = integer(ref.slice(0, i), original);
    ref = ref.slice(i + 2);
  }
  i = ref.indexOf('pm');
  if (i > 0 && i < 3) {
    hour = (integer(ref.slice(0, i), original) + 12) % 24;
    ref = ref.slice(i + 2);
  }
  for (const [word, h] of [
    ['noon', 12],
    ['midnight', 0],
    ['teatime', 16],
  ] as const) {
    if (ref.startsWith(word)) {
      hour = h;
      minute = 0;
      ref = ref.slice(word.length);
      break;
    }
  }

  const today = new Date(Math.floor(now / DAY) * DAY * 1000);
  const year = today.getUTCFullYear();
  const month = today.getUTCMonth() + 1;
  const day = today.getUTCDate();
  // refDate: today at hour:minute (Python's datetime.replace refuses an hour past 23 the same way)
  let refDate = utc(original, year, month, day, hour, minute);

  if (ref === 'yesterday') refDate -= DAY;
  else if (ref === 'tomorrow') refDate += DAY;
  else if (ref === 'today') {
    // refDate as it is
  } else if (ref.split('/').length === 3) {
    const [m, d, yText] = ref.split('/') as [string, string, string];
    let y = integer(yText, original);
    if (y < 1900) y += 1900;
    if (y < 1970) y += 100;
    refDate = utc(original, y, integer(m, original), integer(d, original), hour, minute);
  } else if (ref.length === 8 && /^\d+$/.test(ref)) {
    refDate = utc(original, Number(ref.slice(0, 4)), Number(ref.slice(4, 6)), Number(ref.slice(6, 8)), hour, minute);
  } else if (MONTHS.includes(ref.slice(0, 3))) {
    const digits = /\d\d$/.test(ref) ? ref.slice(-2) : /\d$/.test(ref) ? ref.slice(-1) : '';
    if (digits === '') throw invalid(original, 'day of month required after month name');
    refDate = utc(original, year, MONTHS.indexOf(ref.slice(0, 3)) + 1, Number(digits), hour, minute);
  } else if (WEEKDAYS.includes(ref.slice(0, 3))) {
    const todayIndex = today.getUTCDay();
    let dayOffset = todayIndex - WEEKDAYS.indexOf(ref.slice(0, 3));
    if (dayOffset < 0) dayOffset += 7;
    refDate -= dayOffset * DAY;
  } else if (ref !== '') {
    throw invalid(original, `unknown day reference "${reference}"`);
  }
  return refDate;
}

/** Unit prefixes as graphite-web's getUnitString reads them (a bare `m` is refused there too). */
function unitSeconds(unit: string, original: string): number {
  if (unit.startsWith('s')) return 1;
  if (unit.startsWith('min')) return 60;
  if (unit.startsWith('h')) return 3600;
  if (unit.startsWith('d')) return DAY;
  if (unit.startsWith('w')) return 7 * DAY;
  if (unit.startsWith('mon')) return 30 * DAY;
  if (unit.startsWith('y')) return 365 * DAY;
  throw invalid(original, `unknown unit "${unit}" (use s, min, h, d, w, mon or y)`);
}

function parseOffset(offset: string, original: string): number {
  if (offset.length === 0) return 0;
  let rest = offset;
  let sign = 1;
  if (!/^\d/.test(rest)) {
    if (rest[0] !== '+' && rest[0] !== '-') throw invalid(original, `invalid offset "${offset}"`);
    sign = rest[0] === '-' ? -1 : 1;
    rest = rest.slice(1);
  }
  let seconds = 0;
  while (rest.length > 0) {
    const match = /^(\d*)([a-z]*)/.exec(rest)!;
    if (match[1] === '') throw invalid(original, `expected a number in the offset "${offset}"`);
    seconds += Number(match[1]) * unitSeconds(match[2]!, original);
    rest = rest.slice(match[0].length);
    if (match[0].length === 0) throw invalid(original, `invalid offset "${offset}"`);
  }
  return sign * seconds;
}
