/** graphite-web's Filter Series and Filter Data groups. */
import { QueryError } from '../errors.js';
import type { Series } from '../series.js';
import { parseTarget } from '../target-expression.js';
import { pythonRegExp, pythonSub, xffValues } from './common.js';
import { evaluateTarget } from './evaluate.js';
import { percentile } from './combine.js';
import { pyG, pyStr } from './python-format.js';
import type { ParamSpec, RenderFunction } from './registry.js';
import { AGG_FUNC_NAMES, getAggFunc, safeAvg, safeDiv, safeLen, safeMax, type AggFunc } from './safe.js';
import { consolidatedValues } from '../consolidation.js';

const SERIES_LIST: ParamSpec = { name: 'seriesList', type: 'seriesList', required: true };
const N: ParamSpec = { name: 'n', type: 'integer', required: true };

/** keyFunc: the aggregate of a series' values, -inf when it has none. */
export function keyOf(fn: AggFunc): (s: Series) => number {
  return (s) => fn(consolidatedValues(s)) ?? -Infinity;
}

/** Python's stable list.sort(key=..., reverse=...): equal keys keep their order either way. */
export function sortByKey(list: Series[], key: (s: Series) => number, reverse: boolean): Series[] {
  const keyed = list.map((s) => ({ s, k: key(s) }));
  keyed.sort((a, b) => (reverse ? (b.k > a.k ? 1 : b.k < a.k ? -1 : 0) : a.k < b.k ? -1 : a.k > b.k ? 1 : 0));
  return keyed.map(({ s }) => s);
}

/** The first n of the list by an aggregate of each series, highest first or lowest first (graphite-web's). */
function ranked(list: Series[], n: number, func: string, highestFirst: boolean): Series[] {
  return sortByKey(list, keyOf(getAggFunc(func)), highestFirst).slice(0, Math.max(n, 0));
}

/** highest / lowest: the aggregation is an argument. */
function rankedByArgument(name: string, highestFirst: boolean, description: string): RenderFunction {
  return {
    name,
    group: 'Filter Series',
    description,
    params: [SERIES_LIST, N, { name: 'func', type: 'aggFunc', default: 'average', options: AGG_FUNC_NAMES }],
    run: (_context, args) =>
      ranked(args.series('seriesList'), args.integer('n'), args.string('func', 'average'), highestFirst),
  };
}

/** highestCurrent, lowestAverage, …: the aggregation is in the name. */
function rankedBy(name: string, func: string, highestFirst: boolean, description: string): RenderFunction {
  return {
    name,
    group: 'Filter Series',
    description,
    params: [SERIES_LIST, N],
    run: (_context, args) => ranked(args.series('seriesList'), args.integer('n'), func, highestFirst),
  };
}

/** removeBelowValue / removeAboveValue: each datapoint `drop` picks becomes null. */
function removeValues(name: string, drop: (v: number, n: number) => boolean, description: string): RenderFunction {
  return {
    name,
    group: 'Filter Data',
    description,
    params: [SERIES_LIST, { name: 'n', type: 'float', required: true }],
    run(_context, args) {
      const n = args.number('n');
      return args.series('seriesList').map((s) => {
        const renamed = `${name}(${s.name}, ${pyG(n)})`;
        const values = s.values.map((v) => (v === null || drop(v, n) ? null : v));
        return { ...s, name: renamed, pathExpression: renamed, values };
      });
    },
  };
}

const OPERATORS: Record<string, (value: number | null, threshold: number) => boolean> = {
  '!=': (v, t) => v === null || v !== t,
  '<': (v, t) => v === null || v < t,
  '<=': (v, t) => v === null || v <= t,
  '=': (v, t) => v !== null && v === t,
  '>': (v, t) => v !== null && v > t,
  '>=': (v, t) => v !== null && v >= t,
};

export const FILTER_FUNCTIONS: RenderFunction[] = [
  rankedByArgument(
    'highest',
    true,
    'Takes one metric or a wildcard seriesList followed by an integer N and an aggregation function. Out of all metrics passed, draws only the N metrics with the highest aggregated value.',
  ),
  rankedByArgument(
    'lowest',
    false,
    'Takes one metric or a wildcard seriesList followed by an integer N and an aggregation function. Out of all metrics passed, draws only the N metrics with the lowest aggregated value.',
  ),
  rankedBy(
    'highestCurrent',
    'current',
    true,
    'Takes one metric or a wildcard seriesList followed by an integer N. Out of all metrics passed, draws only the N metrics with the highest value at the end of the time period specified.',
  ),
  rankedBy(
    'highestMax',
    'max',
    true,
    'Takes one metric or a wildcard seriesList followed by an integer N. Out of all metrics passed, draws only the N metrics with the highest maximum value in the time period specified.',
  ),
  rankedBy(
    'highestAverage',
    'average',
    true,
    'Takes one metric or a wildcard seriesList followed by an integer N. Out of all metrics passed, draws only the top N metrics with the highest average value for the time period specified.',
  ),
  rankedBy(
    'lowestCurrent',
    'current',
    false,
    'Takes one metric or a wildcard seriesList followed by an integer N. Out of all metrics passed, draws only the N metrics with the lowest value at the end of the time period specified.',
  ),
  rankedBy(
    'lowestAverage',
    'average',
    false,
    'Takes one metric or a wildcard seriesList followed by an integer N. Out of all metrics passed, draws only the bottom N metrics with the lowest average value for the time period specified.',
  ),
  {
    name: 'limit',
    group: 'Filter Series',
    description: 'Takes one metric or a wildcard seriesList followed by an integer N. Only draw the first N metrics.',
    params: [SERIES_LIST, N],
    run(_context, args) {
      const n = args.integer('n');
      const list = args.series('seriesList');
      return list.slice(0, n < 0 ? Math.max(list.length + n, 0) : n);
    },
  },
  {
    name: 'exclude',
    group: 'Filter Series',
    description:
      'Takes a metric or a wildcard seriesList, followed by a regular expression in double quotes. Excludes metrics that match the regular expression.',
    params: [SERIES_LIST, { name: 'pattern', type: 'string', required: true }],
    run(_context, args) {
      const regex = pythonRegExp(args.string('pattern'));
      return args.series('seriesList').filter((s) => !regex.test(s.name));
    },
  },
  {
    name: 'grep',
    group: 'Filter Series',
    description:
      'Takes a metric or a wildcard seriesList, followed by a regular expression in double quotes. Excludes metrics that don’t match the regular expression.',
    params: [SERIES_LIST, { name: 'pattern', type: 'string', required: true }],
    run(_context, args) {
      const regex = pythonRegExp(args.string('pattern'));
      return args.series('seriesList').filter((s) => regex.test(s.name));
    },
  },
  {
    name: 'filterSeries',
    group: 'Filter Series',
    description:
      'Takes one metric or a wildcard seriesList followed by a consolidation function, an operator and a threshold.',
    params: [
      SERIES_LIST,
      { name: 'func', type: 'aggFunc', required: true, options: AGG_FUNC_NAMES },
      { name: 'operator', type: 'string', required: true, options: Object.keys(OPERATORS) },
      { name: 'threshold', type: 'float', required: true },
    ],
    run(_context, args) {
      const fn = getAggFunc(args.string('func'));
      const operator = OPERATORS[args.string('operator')];
      if (!operator) throw new QueryError(`Unsupported operator: ${args.string('operator')}`);
      const threshold = args.number('threshold');
      return args.series('seriesList').filter((s) => operator(fn(consolidatedValues(s)), threshold));
    },
  },
  removeValues(
    'removeBelowValue',
    (v, n) => v < n,
    'Removes data below the given threshold from the series or list of series provided.',
  ),
  removeValues(
    'removeAboveValue',
    (v, n) => v > n,
    'Removes data above the given threshold from the series or list of series provided.',
  ),
];

function filterBy(name: string, func: string, operator: string, description: string): RenderFunction {
  return {
    name,
    group: 'Filter Series',
    description,
    params: [SERIES_LIST, { name: 'n', type: 'float', required: true }],
    run(_context, args) {
      const fn = getAggFunc(func);
      const n = args.number('n');
      return args.series('seriesList').filter((s) => OPERATORS[operator]!(fn(consolidatedValues(s)), n));
    },
  };
}

/** removeAbovePercentile / removeBelowPercentile: renamed even when the series has no value to compare. */
function removePercentile(
  name: string,
  keep: (v: number | null, p: number) => boolean,
  description: string,
): RenderFunction {
  return {
    name,
    group: 'Filter Data',
    description,
    params: [SERIES_LIST, { name: 'n', type: 'float', required: true }],
    run(_context, args) {
      const n = args.number('n');
      return args.series('seriesList').map((s) => {
        const newName = `${name}(${s.name}, ${pyG(n)})`;
        let renamed = { ...s, name: newName, pathExpression: newName };
        const known = consolidatedValues(s).filter((v): v is number => v !== null);
        if (known.length === 0) return renamed;
        // graphite-web's nPercentile tags the copy it makes, whose tags are this series' own
        renamed = { ...renamed, tags: { ...s.tags, nPercentile: pyStr(n, false) } };
        // nPercentile(...)[0][0] fails when the range holds no whole window: the series stays as it is
        if (Math.trunc((s.end - s.start) / s.step) === 0) return renamed;
        const p = percentile(known, n)!;
        return { ...renamed, values: s.values.map((v) => (keep(v, p) ? v : null)) };
      });
    },
  };
}

export const MORE_FILTER_FUNCTIONS: RenderFunction[] = [
  filterBy(
    'averageAbove',
    'average',
    '>',
    'Draws only the metrics with an average value above N for the time period specified.',
  ),
  filterBy(
    'averageBelow',
    'average',
    '<=',
    'Draws only the metrics with an average value below N for the time period specified.',
  ),
  filterBy(
    'currentAbove',
    'last',
    '>',
    'Draws only the metrics whose value is above N at the end of the time period specified.',
  ),
  filterBy(
    'currentBelow',
    'last',
    '<=',
    'Draws only the metrics whose value is below N at the end of the time period specified.',
  ),
  filterBy('maximumAbove', 'max', '>', 'Draws only the metrics with a maximum value above n.'),
  filterBy('maximumBelow', 'max', '<=', 'Draws only the metrics with a maximum value below n.'),
  filterBy('minimumAbove', 'min', '>', 'Draws only the metrics with a minimum value above n.'),
  filterBy('minimumBelow', 'min', '<=', 'Draws only the metrics with a minimum value below n.'),
  removePercentile(
    'removeAbovePercentile',
    (v, p) => v === null || v <= p,
    'Removes data above the nth percentile from the series or list of series provided.',
  ),
  removePercentile(
    'removeBelowPercentile',
    (v, p) => v !== null && v >= p,
    'Removes data below the nth percentile from the series or list of series provided.',
  ),
  {
    name: 'removeEmptySeries',
    group: 'Filter Series',
    description:
      'Takes one metric or a wildcard seriesList. Out of all metrics passed, draws only the metrics with not empty data.',
    params: [SERIES_LIST, { name: 'xFilesFactor', type: 'float' }],
    run(_context, args) {
      const x = args.optionalNumber('xFilesFactor') ?? 0;
      return args.series('seriesList').filter((s) => xffValues(consolidatedValues(s), x));
    },
  },
  {
    name: 'unique',
    group: 'Filter Series',
    description: 'Takes an arbitrary number of seriesLists and returns unique series, filtered by name.',
    params: [{ name: 'seriesLists', type: 'seriesList', required: true, multiple: true }],
    run(_context, args) {
      const seen = new Set<string>();
      return args
        .seriesLists('seriesLists')
        .flat()
        .filter((s) => !seen.has(s.name) && seen.add(s.name) !== undefined);
    },
  },
  {
    name: 'mostDeviant',
    group: 'Filter Series',
    description:
      'Takes one metric or a wildcard seriesList followed by an integer N. Draws the N most deviant metrics.',
    params: [SERIES_LIST, N],
    run(_context, args) {
      const n = args.integer('n');
      const deviants: { sigma: number; s: Series }[] = [];
      for (const s of args.series('seriesList')) {
        const values = consolidatedValues(s);
        const mean = safeAvg(values);
        if (mean === null) continue;
        let squareSum = 0;
        for (const v of values) if (v !== null) squareSum += (v - mean) ** 2;
        const sigma = safeDiv(squareSum, safeLen(values));
        if (sigma === null) continue;
        deviants.push({ sigma, s });
      }
      // a stable sort by sigma, largest first, as Python's sort(reverse=True)
      deviants.sort((a, b) => (b.sigma > a.sigma ? 1 : b.sigma < a.sigma ? -1 : 0));
      return deviants.slice(0, Math.max(n, 0)).map(({ s }) => s);
    },
  },
];

export const PERCENTILE_FILTER_FUNCTIONS: RenderFunction[] = [
  {
    name: 'averageOutsidePercentile',
    group: 'Filter Series',
    description: 'Removes series lying inside an average percentile interval.',
    params: [SERIES_LIST, { name: 'n', type: 'float', required: true }],
    run(_context, args) {
      const list = args.series('seriesList');
      let n = args.number('n');
      const averages = list.map((s) => safeAvg(consolidatedValues(s)));
      if (n < 50) n = 100 - n;
      const low = percentile(averages, 100 - n);
      const high = percentile(averages, n);
      // graphite-web compares None with floats and fails: a series without values is a 400 here
      if (averages.some((a) => a === null) || low === null || high === null)
        throw new QueryError('averageOutsidePercentile: every series needs at least one value');
      return list.filter((_, i) => !(low < averages[i]! && averages[i]! < high));
    },
  },
];

export const QUERY_FILTER_FUNCTIONS: RenderFunction[] = [
  {
    name: 'useSeriesAbove',
    group: 'Filter Series',
    description:
      'Compares the maximum of each series against the given value. If the series maximum is greater than value, the regular expression search and replace is applied against the series name to plot a related metric.',
    params: [
      SERIES_LIST,
      { name: 'value', type: 'float', required: true },
      { name: 'search', type: 'string', required: true },
      { name: 'replace', type: 'string', required: true },
    ],
    async run(context, args) {
      const value = args.number('value');
      const names: string[] = [];
      for (const s of args.series('seriesList')) {
        const values = consolidatedValues(s);
        // Python 3's max() over a list holding None fails; graphite-web answers 500 there
        if (values.some((v) => v === null)) throw new QueryError(`useSeriesAbove: ${s.name} has null values`);
        if (values.length > 0 && safeMax(values)! > value)
          names.push(pythonSub(args.string('search'), args.string('replace'), s.name));
      }
      if (names.length === 0) return [];
      const found = await evaluateTarget(parseTarget(`group(${names.join(',')})`), context);
      return found.filter((s) => s.values.length > 0);
    },
  },
  {
    name: 'removeBetweenPercentile',
    group: 'Filter Series',
    description: 'Removes series that do not have an value lying in the x-percentile of all the values at a moment.',
    params: [SERIES_LIST, { name: 'n', type: 'float', required: true }],
    run(_context, args) {
      const list = args.series('seriesList');
      let n = args.number('n');
      if (n < 50) n = 100 - n;
      const columns = list.map((s) => consolidatedValues(s));
      const length = Math.min(...columns.map((c) => c.length));
      // Python 3 compares None with floats and fails: graphite-web answers 500 for any null
      for (const c of columns)
        if (c.slice(0, length).some((v) => v === null))
          throw new QueryError('removeBetweenPercentile: the series hold null values');
      const low: (number | null)[] = [];
      const high: (number | null)[] = [];
      for (let i = 0; i < length; i++) {
        const column = columns.map((c) => c[i]!);
        low.push(percentile(column, 100 - n));
        high.push(percentile(column, n));
      }
      return list.filter((_, k) => columns[k]!.some((v, i) => i < length && !(low[i]! < v! && v! < high[i]!)));
    },
  },
];
