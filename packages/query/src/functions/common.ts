/** What graphite-web's functions share: normalize, the name of a combined list, node and tag keys. */
import { consolidatedFloat64, consolidatedValues } from '../consolidation.js';
import { QueryError } from '../errors.js';
import { compileRegex, type SafeRegex } from '../regex.js';
import { float64Of, type Series } from '../series.js';
import { firstPathExpression } from '../target-expression.js';
import type { Value } from './safe.js';

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

export function lcm(a: number, b: number): number {
  return a === b ? a : (a / gcd(a, b)) * b;
}

export interface Normalized {
  series: Series[];
  start: number;
  end: number;
  step: number;
}

/**
 * graphite-web's normalize: every series is read consolidated to the least common multiple of their steps, over
 * the earliest start to the latest end (trimmed to whole steps). `null` for no series at all, where graphite-web
 * raises NormalizeEmptyResultError (and the function answers no series).
 */
export function normalize(seriesLists: readonly (readonly Series[])[]): Normalized | null {
  const series = seriesLists.flat();
  if (series.length === 0) return null;
  let step = series[0]!.step;
  for (const s of series) step = lcm(step, s.step);
  for (const s of series) s.valuesPerPoint = step / s.step;
  const start = Math.min(...series.map((s) => s.start));
  let end = Math.max(...series.map((s) => s.end));
  end -= (end - start) % step;
  return { series, start, end, step };
}

/** izip_longest(*series): rows of the series' (consolidated) values, null past the end of a shorter one. */
export function rows(series: readonly Series[]): Value[][] {
  const columns = series.map((s) => consolidatedValues(s));
  let length = 0;
  for (const c of columns) if (c.length > length) length = c.length;
  // plain loops into sized arrays: this runs for every window of every series a combining function reads
  const width = columns.length;
  const result = new Array<Value[]>(length);
  for (let i = 0; i < length; i++) {
    const row = new Array<Value>(width);
    for (let j = 0; j < width; j++) {
      const c = columns[j]!;
      row[j] = i < c.length ? c[i]! : null;
    }
    result[i] = row;
  }
  return result;
}

/**
 * `rows(series).map(fn)` without a row array per window: one buffer is refilled for each row, so `fn` must not
 * keep the row it is given (the reductions never do).
 */
export function mapRows<T>(series: readonly Series[], fn: (row: readonly Value[]) => T): T[] {
  const columns = series.map((s) => consolidatedValues(s));
  let length = 0;
  for (const c of columns) if (c.length > length) length = c.length;
  const width = columns.length;
  const row = new Array<Value>(width);
  const result = new Array<T>(length);
  for (let i = 0; i < length; i++) {
    for (let j = 0; j < width; j++) {
      const c = columns[j]!;
      row[j] = i < c.length ? c[i]! : null;
    }
    result[i] = fn(row);
  }
  return result;
}

/**
 * sum, average and count of each row with graphite-web's xFilesFactor rule, computed column by column: the same
 * additions in the same order as a row's left-to-right sum (so the same bits), without visiting 1,000 scattered
 * arrays per window. Undefined for other functions.
 */
export function reduceColumns(series: readonly Series[], func: string, xFilesFactor: number): Value[] | undefined {
  const kind = func === 'total' ? 'sum' : func === 'avg' ? 'average' : func;
  if (kind !== 'sum' && kind !== 'average' && kind !== 'count') return undefined;
  // a series still as read (Float64Array, NaN for None) is summed as it is, without boxing its values
  const columns = series.map((s) => (float64Of(s) ? consolidatedFloat64(s) : consolidatedValues(s)));
  let length = 0;
  for (const c of columns) if (c.length > length) length = c.length;
  const totals = new Float64Array(length);
  const known = new Int32Array(length);
  for (const c of columns) {
    if (c instanceof Float64Array) {
      for (let i = 0; i < c.length; i++) {
        const v = c[i]!;
        if (!Number.isNaN(v)) {
          totals[i] = totals[i]! + v;
          known[i]!++;
        }
      }
      continue;
    }
    for (let i = 0; i < c.length; i++) {
      const v = c[i];
      if (v !== null && v !== undefined) {
        totals[i] = totals[i]! + v;
        known[i]!++;
      }
    }
  }
  const result = new Array<Value>(length);
  for (let i = 0; i < length; i++) {
    const n = known[i]!;
    if (!xff(n, columns.length, xFilesFactor)) result[i] = null;
    else result[i] = kind === 'sum' ? totals[i]! : kind === 'average' ? totals[i]! / n : n;
  }
  return result;
}

/** formatPathExpressions: the distinct path expressions of a list, in order, joined by commas. */
export function formatPathExpressions(series: readonly Series[]): string {
  const seen: string[] = [];
  for (const s of series) if (!seen.includes(s.pathExpression)) seen.push(s.pathExpression);
  return seen.join(',');
}

/** graphite-web's xff: enough known values, and at least one. */
export function xff(nonNull: number, total: number, xFilesFactor: number): boolean {
  if (nonNull === 0 || total === 0) return false;
  return nonNull / total >= xFilesFactor;
}

export function xffValues(values: readonly Value[], xFilesFactor: number): boolean {
  let nonNull = 0;
  for (const v of values) if (v !== null) nonNull++;
  return xff(nonNull, values.length, xFilesFactor);
}

/** getNodeOrTag: an integer picks a node of the path (tags split off; negative from the end), else a tag. */
export function nodeOrTag(series: Series, n: number | string | boolean, pathExpression?: string): string {
  if (typeof n === 'number' && Number.isInteger(n)) {
    const nodes = (pathExpression ?? series.name).split(';')[0]!.split('.');
    const node = nodes[n < 0 ? nodes.length + n : n];
    if (node !== undefined) return node;
  }
  return series.tags[String(n)] ?? '';
}

/** aggKey: the nodes or tags joined by dots; a name ending in `)` is read through its first path expression. */
export function aggKey(series: Series, nodes: readonly (number | string | boolean)[]): string {
  const pathExpression = series.name.endsWith(')') ? firstPathExpression(series.name) : undefined;
  return nodes.map((n) => nodeOrTag(series, n, pathExpression)).join('.');
}

/** Series grouped by a key, groups in order of first appearance. */
export function groupBy(series: readonly Series[], key: (s: Series) => string): Map<string, Series[]> {
  const groups = new Map<string, Series[]>();
  for (const s of series) {
    const k = key(s);
    const group = groups.get(k);
    if (group) group.push(s);
    else groups.set(k, [s]);
  }
  return groups;
}

/** graphite-web's parseTimeOffset for interval arguments ('5min', '-1h'); seconds, signed. */
export function parseInterval(text: string): number {
  let rest = text.trim().toLowerCase();
  let sign = 1;
  if (rest.length === 0) return 0;
  if (!/^\d/.test(rest)) {
    if (rest[0] !== '+' && rest[0] !== '-') throw new QueryError(`invalid interval "${text}"`);
    sign = rest[0] === '-' ? -1 : 1;
    rest = rest.slice(1);
  }
  let seconds = 0;
  while (rest.length > 0) {
    const match = /^(\d+)([a-z]*)/.exec(rest);
    if (!match) throw new QueryError(`invalid interval "${text}"`);
    seconds += Number(match[1]) * unitSeconds(match[2]!, text);
    rest = rest.slice(match[0].length);
  }
  return sign * seconds;
}

function unitSeconds(unit: string, text: string): number {
  if (unit.startsWith('s')) return 1;
  if (unit.startsWith('min')) return 60;
  if (unit.startsWith('h')) return 3600;
  if (unit.startsWith('d')) return 86400;
  if (unit.startsWith('w')) return 7 * 86400;
  if (unit.startsWith('mon')) return 30 * 86400;
  if (unit.startsWith('y')) return 365 * 86400;
  throw new QueryError(`invalid interval "${text}": unknown unit "${unit}"`);
}

/** A pattern from a target (grep, exclude, aliasSub), on the linear-time engine. */
export function pythonRegExp(pattern: string): SafeRegex {
  return compileRegex(pattern, `"${pattern}"`);
}

/** re.sub(pattern, replacement, text): Python's replacement syntax (\1, \g<name>, \\, \n). */
export function pythonSub(pattern: string, replacement: string, text: string): string {
  return pythonRegExp(pattern).replace(text, (groups, named) => expandTemplate(replacement, groups, named));
}

const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', f: '\f', v: '\v', a: '\x07', b: '\b', '\\': '\\' };

function expandTemplate(
  template: string,
  groups: readonly (string | undefined)[],
  named: Readonly<Record<string, string | undefined>>,
): string {
  let out = '';
  for (let i = 0; i < template.length; i++) {
    const c = template[i]!;
    if (c !== '\\' || i + 1 >= template.length) {
      out += c;
      continue;
    }
    const next = template[i + 1]!;
    const digits = /^\d{1,2}/.exec(template.slice(i + 1));
    if (digits && next !== '0') {
      const n = Number(digits[0]);
      if (n >= groups.length) throw new QueryError(`invalid group reference ${n} in "${template}"`);
      out += groups[n] ?? '';
      i += digits[0].length;
    } else if (next === 'g') {
      const ref = /^g<([^>]+)>/.exec(template.slice(i + 1));
      if (!ref) throw new QueryError(`bad \\g reference in "${template}"`);
      const key = ref[1]!;
      out += /^\d+$/.test(key) ? (groups[Number(key)] ?? '') : (named[key] ?? '');
      i += ref[0].length;
    } else if (ESCAPES[next] !== undefined) {
      out += ESCAPES[next];
      i++;
    } else if (/[A-Za-z]/.test(next)) {
      throw new QueryError(`bad escape \\${next} in "${template}"`);
    } else {
      out += c;
    }
  }
  return out;
}
