/** graphite-web's Combine group: functions that make one series out of several. */
import { QueryError } from '../errors.js';
import type { RenderContext } from '../render-context.js';
import { makeSeries, tagsFromName, type Series } from '../series.js';
import {
  aggKey,
  formatPathExpressions,
  groupBy,
  mapRows,
  normalize,
  reduceColumns,
  rows,
  xffValues,
} from './common.js';
import { pyG, pyStr } from './python-format.js';
import { evaluateTarget } from './evaluate.js';
import { RENDER_FUNCTIONS } from './index.js';
import { bindArgs, type Args, type EvaluatedArg, type ParamSpec, type RenderFunction } from './registry.js';
import { parseTarget } from '../target-expression.js';
import {
  AGG_FUNC_NAMES,
  AGG_OR_SERIES_FUNC_NAMES,
  AGGREGATOR_FUNCTIONS,
  getAggFunc,
  safeDiv,
  safeMul,
  safeSum,
} from './safe.js';

const SERIES_LIST: ParamSpec = { name: 'seriesList', type: 'seriesList', required: true };
const SERIES_LISTS: ParamSpec = { name: 'seriesLists', type: 'seriesList', required: true, multiple: true };

/** graphite-web's aggregate(): one series reducing each row by `func` (a name like 'sum' or 'sumSeries'). */
export function aggregate(
  context: RenderContext,
  seriesLists: readonly (readonly Series[])[],
  rawFunc: string,
  xFilesFactorArg: number | null = null,
): Series[] {
  const func = rawFunc.endsWith('Series') ? rawFunc.slice(0, -6) : rawFunc;
  const reduce = getAggFunc(func);
  const normalized = normalize(seriesLists);
  if (!normalized) return [];
  const { series, start, end, step } = normalized;
  const xFilesFactor = xFilesFactorArg ?? context.xFilesFactor;
  const name = `${func}Series(${formatPathExpressions(series)})`;
  const values =
    reduceColumns(series, func, xFilesFactor) ??
    mapRows(series, (row) => (xffValues(row, xFilesFactor) ? reduce(row) : null));
  let tags: Record<string, string> = { ...series[0]!.tags };
  for (const s of series) {
    const kept: Record<string, string> = {};
    for (const [tag, value] of Object.entries(tags)) if (s.tags[tag] === value) kept[tag] = value;
    tags = kept;
  }
  if (!('name' in tags)) tags.name = name;
  tags.aggregatedBy = func;
  return [makeSeries({ name, start, end, step, values, xFilesFactor, tags })];
}

function aggregator(name: string, func: string, description: string): RenderFunction {
  return {
    name,
    group: 'Combine',
    description,
    params: [SERIES_LISTS],
    run: (context, args) => aggregate(context, args.seriesLists('seriesLists'), func),
  };
}

/** A groupBy callback: an aggregation name, or an aggregating series function by name (sumSeries...). */
function reduceGroup(context: RenderContext, group: Series[], callback: string): Series {
  if (callback === 'multiplySeries' && group.length === 1) return group[0]!;
  if (callback === 'countSeries') return countSeries(context, [group]);
  if (!AGGREGATOR_FUNCTIONS.includes(callback) && !AGG_FUNC_NAMES.includes(callback))
    throw new QueryError(`unsupported aggregation function: ${callback}`);
  const [series] = aggregate(context, [group], callback);
  return series!;
}

function countSeries(context: RenderContext, seriesLists: readonly (readonly Series[])[]): Series {
  const normalized = normalize(seriesLists);
  if (!normalized) {
    const { startTime: start, endTime: end } = context;
    return makeSeries({
      name: '0',
      start,
      end,
      step: Math.trunc((end - start) / 2),
      values: [0, 0, 0],
      xFilesFactor: context.xFilesFactor,
      pathExpression: 'countSeries()',
    });
  }
  const { series, start, end, step } = normalized;
  const name = `countSeries(${formatPathExpressions(series)})`;
  const values = rows(series).map((row) => row.length);
  return makeSeries({ name, start, end, step, values, xFilesFactor: context.xFilesFactor });
}

function groupByNodes(
  context: RenderContext,
  list: Series[],
  callback: string,
  nodes: readonly (string | number | boolean)[],
): Series[] {
  const result: Series[] = [];
  for (const [key, group] of groupBy(list, (s) => aggKey(s, nodes)))
    result.push({ ...reduceGroup(context, group, callback), name: key });
  return result;
}

/** The total of a group, as asPercent sums it (no xFilesFactor, named sumSeries(...)). */
function sumOf(context: RenderContext, group: Series[]): Series {
  if (group.length === 1) return group[0]!;
  const name = `sumSeries(${formatPathExpressions(group)})`;
  const { start, end, step } = normalize([group])!;
  return makeSeries({
    name,
    start,
    end,
    step,
    values: mapRows(group, (row) => safeSum(row)),
    xFilesFactor: context.xFilesFactor,
  });
}

function percentOf(context: RenderContext, series: Series, total: Series): Series {
  const name = `asPercent(${series.name},${total.name})`;
  const { start, end, step } = normalize([[series, total]])!;
  const values = rows([series, total]).map(([v1, v2]) => safeMul(safeDiv(v1!, v2!), 100.0));
  return makeSeries({ name, start, end, step, values, xFilesFactor: context.xFilesFactor });
}

function asPercent(context: RenderContext, args: Args): Series[] {
  const list = args.series('seriesList');
  normalize([list]);
  const totalArg = args.raw0('total');
  const nodes = args.scalars('nodes');
  const xFilesFactor = context.xFilesFactor;
  if (nodes.length > 0) {
    const metaSeries = groupBy(list, (s) => aggKey(s, nodes));
    const keys = [...metaSeries.keys()];
    const totals = new Map<string, Series>();
    if (totalArg === undefined || totalArg === null) {
      for (const key of keys) totals.set(key, sumOf(context, metaSeries.get(key)!));
    } else if (Array.isArray(totalArg)) {
      for (const [key, group] of groupBy(totalArg, (s) => aggKey(s, nodes))) {
        if (!keys.includes(key)) keys.push(key);
        totals.set(key, sumOf(context, group));
      }
    } else throw new QueryError('asPercent: total must be None or a seriesList');
    const result: Series[] = [];
    for (const key of keys) {
      const group = metaSeries.get(key);
      if (!group) {
        const total = totals.get(key)!;
        const name = `asPercent(MISSING,${total.name})`;
        result.push(
          makeSeries({
            name,
            start: total.start,
            end: total.end,
            step: total.step,
            values: total.values.map(() => null),
            xFilesFactor,
          }),
        );
        continue;
      }
      for (const s of group) {
        const total = totals.get(key);
        if (!total) {
          const name = `asPercent(${s.name},MISSING)`;
          result.push(
            makeSeries({
              name,
              start: s.start,
              end: s.end,
              step: s.step,
              values: s.values.map(() => null),
              xFilesFactor,
            }),
          );
        } else result.push(percentOf(context, s, total));
      }
    }
    return result;
  }
  let totalValues: (number | null)[];
  let totalText: string;
  if (totalArg === undefined || totalArg === null) {
    totalValues = mapRows(list, (row) => safeSum(row));
    totalText = `sumSeries(${formatPathExpressions(list)})`;
  } else if (Array.isArray(totalArg)) {
    if (totalArg.length !== 1 && totalArg.length !== list.length)
      throw new QueryError(
        'asPercent second argument must be missing, a single digit, reference exactly 1 series or reference the same number of series as the first argument',
      );
    if (totalArg.length === list.length && totalArg.length !== 1) {
      const byName = (a: Series, b: Series) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
      const left = [...list].sort(byName);
      const right = [...totalArg].sort(byName);
      return left.map((s, i) => percentOf(context, s, right[i]!));
    }
    normalize([list, totalArg]);
    if (list.length === 1 && totalArg.length === 1) return [percentOf(context, list[0]!, totalArg[0]!)];
    totalValues = rows([totalArg[0]!]).map((row) => row[0]!);
    totalText = totalArg[0]!.name;
  } else if (typeof totalArg === 'number') {
    totalValues = new Array<number>(list[0]?.values.length ?? 0).fill(totalArg);
    totalText = pyStr(totalArg, args.isInt('total'));
  } else throw new QueryError('asPercent: total must be a number or a seriesList');
  return list.map((s) => {
    const own = rows([s]).map((row) => row[0]!);
    const length = Math.max(own.length, totalValues.length);
    const values: (number | null)[] = [];
    for (let i = 0; i < length; i++) values.push(safeMul(safeDiv(own[i] ?? null, totalValues[i] ?? null), 100.0));
    const name = `asPercent(${s.name},${totalText || s.pathExpression})`;
    return makeSeries({ name, start: s.start, end: s.end, step: s.step, values, xFilesFactor });
  });
}

export const COMBINE_FUNCTIONS: RenderFunction[] = [
  {
    name: 'aggregate',
    group: 'Combine',
    description: 'Aggregate series using the specified function.',
    params: [
      SERIES_LIST,
      { name: 'func', type: 'aggFunc', required: true, options: AGG_FUNC_NAMES },
      { name: 'xFilesFactor', type: 'float' },
    ],
    run: (context, args) =>
      aggregate(context, [args.series('seriesList')], args.string('func'), args.optionalNumber('xFilesFactor')),
  },
  aggregator('sumSeries', 'sum', 'Short form: sum(). Adds metrics together and returns the sum at each datapoint.'),
  aggregator(
    'averageSeries',
    'average',
    'Short form: avg(). Takes one metric or a wildcard seriesList; draws the average value of all metrics passed at each time.',
  ),
  aggregator(
    'maxSeries',
    'max',
    'Takes one metric or a wildcard seriesList; for each point in time returns the maximum value.',
  ),
  aggregator(
    'minSeries',
    'min',
    'Takes one metric or a wildcard seriesList; for each point in time returns the minimum value.',
  ),
  aggregator('diffSeries', 'diff', 'Subtracts series 2 through n from series 1.'),
  aggregator(
    'stddevSeries',
    'stddev',
    'Takes one metric or a wildcard seriesList; draws the standard deviation of all metrics passed at each time.',
  ),
  aggregator(
    'rangeOfSeries',
    'rangeOf',
    'Takes a wildcard seriesList; distills down a set of inputs into the range of the series.',
  ),
  {
    name: 'multiplySeries',
    group: 'Combine',
    description: 'Takes two or more series and multiplies their points. A constant may not be used.',
    params: [SERIES_LISTS],
    run(context, args) {
      const lists = args.seriesLists('seriesLists');
      if (lists.length === 1 && lists[0]!.length === 1) return lists[0]!;
      return aggregate(context, lists, 'multiply');
    },
  },
  {
    name: 'countSeries',
    group: 'Combine',
    description: 'Draws a horizontal line representing the number of nodes found in the seriesList.',
    params: [{ name: 'seriesLists', type: 'seriesList', multiple: true }],
    run: (context, args) => [countSeries(context, args.seriesLists('seriesLists'))],
  },
  {
    name: 'groupByNode',
    group: 'Combine',
    description: 'Takes a serieslist and maps a callback to subgroups within as defined by a common node.',
    params: [
      SERIES_LIST,
      { name: 'nodeNum', type: 'nodeOrTag', required: true },
      { name: 'callback', type: 'aggOrSeriesFunc', default: 'average', options: AGG_OR_SERIES_FUNC_NAMES },
    ],
    run: (context, args) =>
      groupByNodes(context, args.series('seriesList'), args.string('callback', 'average'), args.scalars('nodeNum')),
  },
  {
    name: 'groupByNodes',
    group: 'Combine',
    description: 'Takes a serieslist and maps a callback to subgroups within as defined by multiple nodes.',
    params: [
      SERIES_LIST,
      { name: 'callback', type: 'aggOrSeriesFunc', required: true, options: AGG_OR_SERIES_FUNC_NAMES },
      { name: 'nodes', type: 'nodeOrTag', multiple: true },
    ],
    run: (context, args) =>
      groupByNodes(context, args.series('seriesList'), args.string('callback'), args.scalars('nodes')),
  },
  {
    name: 'groupByTags',
    group: 'Combine',
    description: 'Takes a serieslist and maps a callback to subgroups within as defined by a common set of tags.',
    params: [
      SERIES_LIST,
      { name: 'callback', type: 'aggOrSeriesFunc', required: true, options: AGG_OR_SERIES_FUNC_NAMES },
      { name: 'tags', type: 'tag', required: true, multiple: true },
    ],
    run(context, args) {
      const list = args.series('seriesList');
      const callback = args.string('callback');
      const tags = args.scalars('tags').map(String);
      if (tags.length === 0) throw new QueryError('groupByTags(): no tags specified');
      const names = [...new Set(list.map((s) => s.tags.name))];
      const common = names.length === 1 ? names[0]! : callback;
      const keyOf = (s: Series) =>
        tags.includes('name')
          ? [
              s.tags.name,
              ...tags
                .filter((t) => t !== 'name')
                .map((t) => `${t}=${s.tags[t] ?? ''}`)
                .sort(),
            ].join(';')
          : [common, ...tags.map((t) => `${t}=${s.tags[t] ?? ''}`).sort()].join(';');
      const result: Series[] = [];
      for (const [key, group] of groupBy(list, keyOf))
        result.push({
          ...reduceGroup(context, group, callback),
          name: key,
          pathExpression: key,
          tags: tagsFromName(key),
        });
      return result;
    },
  },
  {
    name: 'asPercent',
    group: 'Combine',
    description: 'Calculates a percentage of the total of a wildcard series.',
    params: [SERIES_LIST, { name: 'total', type: 'any' }, { name: 'nodes', type: 'nodeOrTag', multiple: true }],
    run: (context, args) => asPercent(context, args),
  },
  {
    name: 'divideSeries',
    group: 'Combine',
    description: 'Takes a dividend metric and a divisor metric and draws the division result.',
    params: [
      { name: 'dividendSeriesList', type: 'seriesList', required: true },
      { name: 'divisorSeries', type: 'seriesList', required: true },
    ],
    run(context, args) {
      const dividends = args.series('dividendSeriesList');
      const divisors = args.series('divisorSeries');
      if (divisors.length === 0)
        return dividends.map((s) => {
          const name = `divideSeries(${s.name},MISSING)`;
          return { ...s, name, pathExpression: name, values: s.values.map(() => null) };
        });
      if (divisors.length > 1)
        throw new QueryError(`divideSeries second argument must reference exactly 1 series (got ${divisors.length})`);
      const divisor = divisors[0]!;
      return dividends.map((s) => {
        const name = `divideSeries(${s.name},${divisor.name})`;
        const { start, end, step } = normalize([[s, divisor]])!;
        const values = rows([s, divisor]).map(([a, b]) => safeDiv(a!, b!));
        return makeSeries({ name, start, end, step, values, xFilesFactor: context.xFilesFactor });
      });
    },
  },
  {
    name: 'percentileOfSeries',
    group: 'Combine',
    description:
      'percentileOfSeries returns a single series which is composed of the n-percentile values taken across a wildcard series at each point.',
    params: [
      SERIES_LIST,
      { name: 'n', type: 'float', required: true },
      { name: 'interpolate', type: 'boolean', default: false },
    ],
    run(context, args) {
      const list = args.series('seriesList');
      const n = args.number('n');
      if (n <= 0) throw new QueryError('The requested percent is required to be greater than 0');
      if (list.length === 0) return [];
      const interpolate = args.boolean('interpolate', false);
      const name = `percentileOfSeries(${list[0]!.pathExpression},${pyG(n)})`;
      const { start, end, step } = normalize([list])!;
      const values = rows(list).map((row) => percentile(row, n, interpolate));
      return [makeSeries({ name, start, end, step, values, xFilesFactor: context.xFilesFactor })];
    },
  },
];

/** graphite-web's _getPercentile. */
export function percentile(points: readonly (number | null)[], n: number, interpolate = false): number | null {
  const sorted = points.filter((p): p is number => p !== null).sort((a, b) => a - b);
  if (sorted.length === 0) return null;
  const fractionalRank = (n / 100.0) * (sorted.length + 1);
  let rank = Math.trunc(fractionalRank);
  const rankFraction = fractionalRank - rank;
  if (!interpolate) rank += Math.ceil(rankFraction);
  let result: number;
  if (rank === 0) result = sorted[0]!;
  else if (rank - 1 === sorted.length) result = sorted[sorted.length - 1]!;
  else result = sorted[rank - 1]!;
  if (interpolate && rank !== sorted.length) result = result + rankFraction * (sorted[rank]! - result);
  return result;
}

/** aggregateWithWildcards: series grouped by their name without the given node positions, each group reduced. */
function withWildcards(context: RenderContext, list: Series[], func: string, positions: readonly number[]): Series[] {
  const groups = groupBy(list, (s) =>
    s.name
      .split('.')
      .filter((_, i) => !positions.includes(i))
      .join('.'),
  );
  return [...groups].map(([key, group]) => ({ ...aggregate(context, [group], func)[0]!, name: key }));
}

function wildcardAggregator(name: string, func: string): RenderFunction {
  return {
    name,
    group: 'Combine',
    description: `Call ${func} after inserting wildcards at the given position(s).`,
    params: [SERIES_LIST, { name: 'position', type: 'node', multiple: true }],
    run: (context, args) =>
      withWildcards(context, args.series('seriesList'), func, args.scalars('position').map(Number)),
  };
}

export const MORE_COMBINE_FUNCTIONS: RenderFunction[] = [
  { ...aggregator('sum', 'sum', 'Short form of sumSeries.'), name: 'sum' },
  { ...aggregator('avg', 'average', 'Short form of averageSeries.'), name: 'avg' },
  { ...COMBINE_FUNCTIONS.find((f) => f.name === 'asPercent')!, name: 'pct' },
  {
    name: 'aggregateWithWildcards',
    group: 'Combine',
    description: 'Call aggregator after inserting wildcards at the given position(s).',
    params: [
      SERIES_LIST,
      { name: 'func', type: 'aggFunc', required: true, options: AGG_FUNC_NAMES },
      { name: 'position', type: 'node', multiple: true },
    ],
    run: (context, args) =>
      withWildcards(context, args.series('seriesList'), args.string('func'), args.scalars('position').map(Number)),
  },
  wildcardAggregator('sumSeriesWithWildcards', 'sum'),
  wildcardAggregator('averageSeriesWithWildcards', 'average'),
  wildcardAggregator('multiplySeriesWithWildcards', 'multiply'),
  {
    name: 'powSeries',
    group: 'Combine',
    description: 'Takes two or more series and pows their points. A constant line may be used.',
    params: [{ name: 'seriesList', type: 'seriesList', required: true, multiple: true }],
    run(context, args) {
      const normalized = normalize(args.seriesLists('seriesList'));
      if (!normalized) return [];
      const { series, start, end, step } = normalized;
      const name = `powSeries(${series.map((s) => s.name).join(',')})`;
      const values = rows(series).map((row) => {
        let result: number | null = row[0]!;
        for (const element of row.slice(1)) {
          if (result === null || element === null) result = null;
          else {
            const p = Math.pow(result, element);
            result = Number.isFinite(p) ? p : null;
          }
        }
        return result;
      });
      return [makeSeries({ name, start, end, step, values, xFilesFactor: context.xFilesFactor })];
    },
  },
];

function aggregateSeriesLists(
  context: RenderContext,
  first: Series[],
  second: Series[],
  func: string,
  xFilesFactor: number | null,
): Series[] {
  if (first.length !== second.length)
    throw new QueryError('seriesListFirstPos and seriesListSecondPos argument must have equal length');
  const results: Series[] = [];
  first.forEach((a, i) => {
    const b = second[i]!;
    const [result] = aggregate(context, [[a, b]], func, xFilesFactor);
    if (!result) return;
    results.push({
      ...result,
      name: `${result.name.slice(0, result.name.indexOf('Series('))}Series(${a.name},${b.name})`,
    });
  });
  return results;
}

const FIRST_POS: ParamSpec = { name: 'seriesListFirstPos', type: 'seriesList', required: true };
const SECOND_POS: ParamSpec = { name: 'seriesListSecondPos', type: 'seriesList', required: true };

function seriesListsAggregator(name: string, func: string): RenderFunction {
  return {
    name,
    group: 'Combine',
    description: `Iterates over a two lists and ${func}s series lists 2-by-2.`,
    params: [FIRST_POS, SECOND_POS],
    run: (context, args) =>
      aggregateSeriesLists(context, args.series('seriesListFirstPos'), args.series('seriesListSecondPos'), func, null),
  };
}

export const LIST_COMBINE_FUNCTIONS: RenderFunction[] = [
  {
    name: 'group',
    group: 'Combine',
    description: 'Takes an arbitrary number of seriesLists and adds them to a single seriesList.',
    params: [{ name: 'seriesLists', type: 'seriesList', multiple: true }],
    run: (_context, args) => args.seriesLists('seriesLists').flat(),
  },
  {
    name: 'aggregateSeriesLists',
    group: 'Combine',
    description:
      'Iterates over a two lists and aggregates using specified function list1[0] to list2[0], list1[1] to list2[1] and so on.',
    params: [
      FIRST_POS,
      SECOND_POS,
      { name: 'func', type: 'aggFunc', required: true, options: AGG_FUNC_NAMES },
      { name: 'xFilesFactor', type: 'float' },
    ],
    run: (context, args) =>
      aggregateSeriesLists(
        context,
        args.series('seriesListFirstPos'),
        args.series('seriesListSecondPos'),
        args.string('func'),
        args.optionalNumber('xFilesFactor'),
      ),
  },
  seriesListsAggregator('sumSeriesLists', 'sum'),
  seriesListsAggregator('diffSeriesLists', 'diff'),
  seriesListsAggregator('multiplySeriesLists', 'multiply'),
  {
    name: 'weightedAverage',
    group: 'Combine',
    description:
      'Takes a series of average values and a series of weights and produces a weighted average for all values.',
    params: [
      { name: 'seriesListAvg', type: 'seriesList', required: true },
      { name: 'seriesListWeight', type: 'seriesList', required: true },
      { name: 'nodes', type: 'nodeOrTag', multiple: true },
    ],
    run(context, args) {
      const averages = args.series('seriesListAvg');
      const weights = args.series('seriesListWeight');
      const nodes = args.scalars('nodes');
      if (averages.length !== weights.length)
        throw new QueryError(
          `weightedAverage must receive the same number of series for seriesListAvg and seriesListWeight but received respectively ${averages.length} and ${weights.length}`,
        );
      const byKey = new Map<string, { avg?: Series; weight?: Series }>();
      const entry = (key: string) => byKey.get(key) ?? byKey.set(key, {}).get(key)!;
      averages.forEach((avg, i) => {
        entry(aggKey(avg, nodes)).avg = avg;
        const weight = weights[i]!;
        entry(aggKey(weight, nodes)).weight = weight;
      });
      const products: Series[] = [];
      for (const { avg, weight } of byKey.values()) {
        if (!avg || !weight) continue;
        const values = rows([avg, weight]).map(([a, w]) => safeMul(a!, w!));
        products.push(
          makeSeries({
            name: `product(${weight.name},${avg.name})`,
            start: avg.start,
            end: avg.end,
            step: avg.step,
            values,
            xFilesFactor: context.xFilesFactor,
          }),
        );
      }
      if (products.length === 0) return [];
      const sumProducts = aggregate(context, [products], 'sum')[0]!;
      const sumWeights = aggregate(context, [weights], 'sum')[0]!;
      const values = rows([sumProducts, sumWeights]).map(([p, w]) => safeDiv(p!, w!));
      const paths = (list: Series[]) => [...new Set(list.map((s) => s.pathExpression))].sort().join(',');
      const name = `weightedAverage(${paths(averages)}, ${paths(weights)}, ${nodes.map(String).join(',')})`;
      return [
        makeSeries({
          name,
          start: sumProducts.start,
          end: sumProducts.end,
          step: sumProducts.step,
          values,
          xFilesFactor: context.xFilesFactor,
        }),
      ];
    },
  },
];

export const DIVIDE_LISTS_FUNCTIONS: RenderFunction[] = [
  {
    name: 'divideSeriesLists',
    group: 'Combine',
    description: 'Iterates over a two lists and divides list1[0] by list2[0], list1[1] by list2[1] and so on.',
    params: [
      { name: 'dividendSeriesList', type: 'seriesList', required: true },
      { name: 'divisorSeriesList', type: 'seriesList', required: true },
    ],
    run(context, args) {
      const dividends = args.series('dividendSeriesList');
      const divisors = args.series('divisorSeriesList');
      if (dividends.length !== divisors.length)
        throw new QueryError('dividendSeriesList and divisorSeriesList argument must have equal length');
      return dividends.map((a, i) => {
        const b = divisors[i]!;
        const { start, end, step } = normalize([[a, b]])!;
        const values = rows([a, b]).map(([x, y]) => safeDiv(x!, y!));
        return makeSeries({
          name: `divideSeries(${a.name},${b.name})`,
          start,
          end,
          step,
          values,
          xFilesFactor: context.xFilesFactor,
        });
      });
    },
  },
];

/** A series list built at run time handed to a function as if written in the target (reduceSeries). */
function literalList(list: Series[]): EvaluatedArg {
  return { value: list, expression: { kind: 'path', path: list[0]?.name ?? '', position: 0 } };
}

const MAP_PARAMS: ParamSpec[] = [SERIES_LIST, { name: 'mapNodes', type: 'nodeOrTag', required: true, multiple: true }];
const REDUCE_PARAMS: ParamSpec[] = [
  { name: 'seriesLists', type: 'seriesLists', required: true },
  { name: 'reduceFunction', type: 'string', required: true },
  { name: 'reduceNode', type: 'node', required: true },
  { name: 'reduceMatchers', type: 'string', required: true, multiple: true },
];

/**
 * mapSeries groups by nodes for reduceSeries, which reads its groups back from the names; carillon passes the
 * grouped series on as one list (graphite-web's list of lists only serves reduceSeries, and fails elsewhere).
 */
function mapSeries(args: Args): Series[] {
  const nodes = args.scalars('mapNodes');
  return [...groupBy(args.series('seriesList'), (s) => aggKey(s, nodes)).values()].flat();
}

async function reduceSeries(context: RenderContext, args: Args): Promise<Series[]> {
  const reduceFunction = args.string('reduceFunction');
  const reduceNode = args.integer('reduceNode');
  const matchers = args.scalars('reduceMatchers').map(String);
  const fn = RENDER_FUNCTIONS.get(reduceFunction);
  if (!fn) throw new QueryError(`reduceSeries: unknown function "${reduceFunction}"`);
  const groups = new Map<string, (Series | undefined)[]>();
  for (const series of args.series('seriesLists')) {
    const nodes = series.name.split('.');
    const node = nodes[reduceNode < 0 ? nodes.length + reduceNode : reduceNode];
    const key = `${nodes.slice(0, reduceNode).join('.')}.reduce.${reduceFunction}`;
    const at = node === undefined ? -1 : matchers.indexOf(node);
    if (at < 0) continue;
    const group =
      groups.get(key) ?? groups.set(key, new Array<Series | undefined>(matchers.length).fill(undefined)).get(key)!;
    group[at] = series;
  }
  const results: Series[] = [];
  for (const [key, group] of groups) {
    if (group.some((s) => s === undefined))
      throw new QueryError(`reduceSeries: ${key} lacks one of ${matchers.join(', ')}`);
    const [first] = await fn.run(
      context,
      bindArgs(
        fn,
        group.map((s) => literalList([s!])),
        new Map(),
      ),
    );
    if (first) results.push({ ...first, name: key });
  }
  return results;
}

export const MAP_REDUCE_FUNCTIONS: RenderFunction[] = [
  {
    name: 'mapSeries',
    group: 'Combine',
    description: 'Short form: map(). Takes a seriesList and maps it to a list of seriesList.',
    params: MAP_PARAMS,
    run: (_c, args) => mapSeries(args),
  },
  {
    name: 'map',
    group: 'Combine',
    description: 'Short form of mapSeries.',
    params: MAP_PARAMS,
    run: (_c, args) => mapSeries(args),
  },
  {
    name: 'reduceSeries',
    group: 'Combine',
    description:
      'Short form: reduce(). Takes a list of seriesLists and reduces it to a list of series by means of the reduceFunction.',
    params: REDUCE_PARAMS,
    run: (c, args) => reduceSeries(c, args),
  },
  {
    name: 'reduce',
    group: 'Combine',
    description: 'Short form of reduceSeries.',
    params: REDUCE_PARAMS,
    run: (c, args) => reduceSeries(c, args),
  },
  {
    name: 'applyByNode',
    group: 'Combine',
    description:
      'Takes a seriesList and applies some complicated function (described by a string), replacing templates with unique prefixes of keys from the seriesList.',
    params: [
      SERIES_LIST,
      { name: 'nodeNum', type: 'node', required: true },
      { name: 'templateFunction', type: 'string', required: true },
      { name: 'newName', type: 'string' },
    ],
    async run(context, args) {
      const list = args.series('seriesList');
      const nodeNum = args.integer('nodeNum');
      const template = args.string('templateFunction');
      const newName = args.optionalString('newName');
      const prefixes = [
        ...new Set(
          list.map((s) =>
            s.name
              .split('.')
              .slice(0, nodeNum + 1)
              .join('.'),
          ),
        ),
      ].sort();
      // graphite-web takes start and end from the last series of the list
      const last = list[list.length - 1];
      const results: Series[] = [];
      for (const prefix of prefixes) {
        for (const s of await evaluateTarget(parseTarget(template.replaceAll('%', prefix)), context))
          results.push({
            ...s,
            name: newName ? newName.replaceAll('%', prefix) : s.name,
            pathExpression: prefix,
            start: last!.start,
            end: last!.end,
          });
      }
      return results;
    },
  },
];
