/** graphite-web's Sorting group. */
import type { Series } from '../series.js';
import { keyOf, sortByKey } from './filter.js';
import type { ParamSpec, RenderFunction } from './registry.js';
import { AGG_FUNC_NAMES, getAggFunc, safeMax, safeMin } from './safe.js';

const SERIES_LIST: ParamSpec = { name: 'seriesList', type: 'seriesList', required: true };

function byString(key: (s: Series) => string, reverse: boolean): (a: Series, b: Series) => number {
  return (a, b) => {
    const ka = key(a);
    const kb = key(b);
    const order = ka < kb ? -1 : ka > kb ? 1 : 0;
    return reverse ? -order : order;
  };
}

export const SORTING_FUNCTIONS: RenderFunction[] = [
  {
    name: 'sortByMaxima',
    group: 'Sorting',
    description:
      'Takes one metric or a wildcard seriesList. Sorts the list of metrics in descending order by the maximum value across the time period specified.',
    params: [SERIES_LIST],
    run: (_context, args) => sortByKey(args.series('seriesList'), keyOf(safeMax), true),
  },
  {
    name: 'sortByMinima',
    group: 'Sorting',
    description:
      'Takes one metric or a wildcard seriesList. Sorts the list of metrics by the lowest value across the time period specified, including only series that have a maximum value greater than 0.',
    params: [SERIES_LIST],
    run: (_context, args) =>
      sortByKey(
        args.series('seriesList').filter((s) => keyOf(safeMax)(s) > 0),
        keyOf(safeMin),
        false,
      ),
  },
  {
    name: 'sortByTotal',
    group: 'Sorting',
    description:
      'Takes one metric or a wildcard seriesList. Sorts the list of metrics in descending order by the sum of values across the time period specified.',
    params: [SERIES_LIST],
    run: (_context, args) => sortByKey(args.series('seriesList'), keyOf(getAggFunc('sum')), true),
  },
  {
    name: 'sortByName',
    group: 'Sorting',
    description:
      'Takes one metric or a wildcard seriesList. Sorts the list of metrics by the metric name using either alphabetical order or natural sorting.',
    params: [
      SERIES_LIST,
      { name: 'natural', type: 'boolean', default: false },
      { name: 'reverse', type: 'boolean', default: false },
    ],
    run(_context, args) {
      const natural = args.boolean('natural', false);
      const reverse = args.boolean('reverse', false);
      const key = natural
        ? (s: Series) => s.name.replace(/\d+/g, (d) => String(Number(d)).padStart(10, '0'))
        : (s: Series) => s.name;
      return [...args.series('seriesList')].sort(byString(key, reverse));
    },
  },
  {
    name: 'sortBy',
    group: 'Sorting',
    description:
      'Takes one metric or a wildcard seriesList followed by an aggregation function and an optional reverse parameter.',
    params: [
      SERIES_LIST,
      { name: 'func', type: 'aggFunc', default: 'average', options: AGG_FUNC_NAMES },
      { name: 'reverse', type: 'boolean', default: false },
    ],
    run: (_context, args) =>
      sortByKey(
        args.series('seriesList'),
        keyOf(getAggFunc(args.string('func', 'average'))),
        args.boolean('reverse', false),
      ),
  },
];
