/** graphite-web's Alias group: functions that only rename series. */
import { consolidatedValues } from '../consolidation.js';
import { aggKey, pythonSub } from './common.js';
import { QueryError } from '../errors.js';
import { withFields, type Series } from '../series.js';
import { parseTarget } from '../target-expression.js';
import { evaluateTarget } from './evaluate.js';
import { pyPercent, pyRound, pyStr } from './python-format.js';
import { AGG_FUNC_NAMES, getAggFunc, safeLast, safeMax, safeMin } from './safe.js';
import type { ParamSpec, RenderFunction } from './registry.js';

const SERIES_LIST: ParamSpec = { name: 'seriesList', type: 'seriesList', required: true };

export const ALIAS_FUNCTIONS: RenderFunction[] = [
  {
    name: 'alias',
    group: 'Alias',
    description:
      'Takes one metric or a wildcard seriesList and a string in quotes. Prints the string instead of the metric name in the legend.',
    params: [SERIES_LIST, { name: 'newName', type: 'string', required: true }],
    run(_context, args) {
      const name = args.string('newName');
      return args.series('seriesList').map((s) => withFields(s, { name }));
    },
  },
  {
    name: 'aliasSub',
    group: 'Alias',
    description: 'Runs series names through a regex search/replace (Python re.sub syntax: \\1 refers to a group).',
    params: [
      SERIES_LIST,
      { name: 'search', type: 'string', required: true },
      { name: 'replace', type: 'string', required: true },
    ],
    run(_context, args) {
      const search = args.string('search');
      const replace = args.string('replace');
      return args.series('seriesList').map((s) => withFields(s, { name: pythonSub(search, replace, s.name) }));
    },
  },
  {
    name: 'aliasByNode',
    group: 'Alias',
    description:
      'Takes a seriesList and applies an alias derived from one or more "node" portion/s of the target name or tags. Node indices are 0 indexed.',
    params: [SERIES_LIST, { name: 'nodes', type: 'nodeOrTag', required: true, multiple: true }],
    run(_context, args) {
      const nodes = args.scalars('nodes');
      return args.series('seriesList').map((s) => withFields(s, { name: aggKey(s, nodes) }));
    },
  },
  {
    name: 'aliasByTags',
    group: 'Alias',
    description: 'Takes a seriesList and applies an alias derived from one or more tags and/or nodes.',
    params: [SERIES_LIST, { name: 'tags', type: 'nodeOrTag', required: true, multiple: true }],
    run(_context, args) {
      const tags = args.scalars('tags');
      return args.series('seriesList').map((s) => withFields(s, { name: aggKey(s, tags) }));
    },
  },
  {
    name: 'aliasByMetric',
    group: 'Alias',
    description: 'Takes a seriesList and applies an alias derived from the base metric name.',
    params: [SERIES_LIST],
    run(_context, args) {
      return args.series('seriesList').map((s) => withFields(s, { name: substr(s.name, -1, 0) }));
    },
  },
];

/** graphite-web's substr on one name: the nodes [start:stop] of the innermost call's first argument. */
export function substr(name: string, start: number, stop: number): string {
  const left = name.lastIndexOf('(') + 1;
  let right = name.indexOf(')');
  if (right < 0) right = name.length + 1;
  const clean = name.slice(left, right);
  const nodes = clean.split('.');
  const from = start < 0 ? Math.max(nodes.length + start, 0) : start;
  const picked = stop === 0 ? nodes.slice(from) : nodes.slice(from, stop < 0 ? nodes.length + stop : stop);
  return picked.join('.').replace(/,.*$/s, '');
}

const UNIT_SYSTEMS: Record<string, [string, number][]> = {
  binary: [
    ['Pi', 1024.0 ** 5],
    ['Ti', 1024.0 ** 4],
    ['Gi', 1024.0 ** 3],
    ['Mi', 1024.0 ** 2],
    ['Ki', 1024.0],
  ],
  si: [
    ['P', 1000.0 ** 5],
    ['T', 1000.0 ** 4],
    ['G', 1000.0 ** 3],
    ['M', 1000.0 ** 2],
    ['k', 1000.0],
  ],
};

/** graphite-web's glyph.format_units: the value in the largest prefix it reaches, and the prefix. */
function formatUnits(v: number, system: string, units?: string): [number, string] {
  for (const [prefix, size] of UNIT_SYSTEMS[system] ?? []) {
    if (Math.abs(v) >= size) {
      let v2 = v / size;
      if (v2 - Math.floor(v2) < 0.00000000001 && v > 1) v2 = Math.floor(v2);
      return [v2, units ? `${prefix}${units}` : prefix];
    }
  }
  const whole = v - Math.floor(v) < 0.00000000001 && v > 1 ? Math.floor(v) : v;
  return [whole, units ?? ''];
}

/** '%.2f': Python's rounding of the exact value, ties to even. */
function fixed2(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  return pyRound(x, 2).toFixed(2);
}

/** '%-Ns' (a negative '*' width): left-justified to N characters. */
function leftJustify(text: string, width: number): string {
  return text.length >= width ? text : text + ' '.repeat(width - text.length);
}

const LEGEND_OPTIONS = [
  ...new Set([...AGG_FUNC_NAMES, ...AGG_FUNC_NAMES.map((n) => `${n}Series`), 'si', 'binary']),
].sort();

export const LEGEND_FUNCTIONS: RenderFunction[] = [
  {
    name: 'legendValue',
    group: 'Alias',
    description:
      'Takes one metric or a wildcard seriesList and a string in quotes. Appends a value to the metric name in the legend.',
    params: [SERIES_LIST, { name: 'valuesTypes', type: 'string', multiple: true, options: LEGEND_OPTIONS }],
    run(_context, args) {
      let types = args.scalars('valuesTypes').map(String);
      let system: string | null = null;
      if (types.length > 0 && (types.at(-1) === 'si' || types.at(-1) === 'binary')) {
        system = types.at(-1)!;
        types = types.slice(0, -1);
      }
      let list = args.series('seriesList');
      for (const type of types) {
        let fn: ((values: readonly (number | null)[]) => number | null) | null = null;
        try {
          fn = getAggFunc(type);
        } catch {
          fn = null;
        }
        const text = (value: number | null) => (value === null ? 'None' : pyStr(value, type === 'count'));
        list = list.map((s) => {
          const value = fn ? fn(consolidatedValues(s)) : null;
          if (system === null) return withFields(s, { name: `${s.name} (${type}: ${fn ? text(value) : '(?)'})` });
          const formatted = !fn
            ? '(?)'
            : value === null
              ? 'None'
              : (([v, p]) => `${fixed2(v)}${p}`)(formatUnits(value, system));
          return withFields(s, {
            name: `${leftJustify(s.name, 20)}${leftJustify(type, 5)}${leftJustify(formatted, 10)}`,
          });
        });
      }
      return list;
    },
  },
  {
    name: 'cactiStyle',
    group: 'Special',
    description:
      'Takes a series list and modifies the aliases to provide column aligned output with Current, Max, and Min values in the style of cacti.',
    params: [
      SERIES_LIST,
      { name: 'system', type: 'string', options: ['binary', 'si'] },
      { name: 'units', type: 'string' },
    ],
    run(_context, args) {
      const list = args.series('seriesList');
      if (list.length === 0) return list;
      const system = args.optionalString('system');
      const units = args.optionalString('units');
      const fmt = (x: number): string => {
        if (system) {
          const [v, prefix] = formatUnits(x, system, units ?? undefined);
          return units ? `${fixed2(v)} ${prefix}` : `${fixed2(v)}${prefix}`;
        }
        return units ? `${fixed2(x)} ${units}` : fixed2(x);
      };
      const stats = list.map((s) => {
        const values = consolidatedValues(s);
        return { last: safeLast(values), max: safeMax(values), min: safeMin(values) };
      });
      // widths from the values truncated to integers (3 when there is none), as graphite-web measures them
      const width = (pick: (st: (typeof stats)[number]) => number | null) =>
        Math.max(0, ...stats.map((st) => fmt(Math.trunc(pick(st) || 3)).length)) + 3;
      const nameLen = Math.max(0, ...list.map((s) => s.name.length));
      const lastLen = width((st) => st.last);
      const maxLen = width((st) => st.max);
      const minLen = width((st) => st.min);
      const shown = (v: number | null) => (v === null ? 'nan' : fmt(v));
      return list.map((s, i) => {
        const st = stats[i]!;
        const name = `${leftJustify(s.name, nameLen)} Current:${leftJustify(shown(st.last), lastLen)} Max:${leftJustify(shown(st.max), maxLen)} Min:${leftJustify(shown(st.min), minLen)} `;
        return withFields(s, { name });
      });
    },
  },
];

export const QUERY_ALIAS_FUNCTIONS: RenderFunction[] = [
  {
    name: 'aliasQuery',
    group: 'Alias',
    description:
      'Performs a query to alias the metrics in seriesList: the name of each series, run through search/replace, is a target whose last value is formatted into newName.',
    params: [
      SERIES_LIST,
      { name: 'search', type: 'string', required: true },
      { name: 'replace', type: 'string', required: true },
      { name: 'newName', type: 'string', required: true },
    ],
    async run(context, args) {
      const search = args.string('search');
      const replace = args.string('replace');
      const newName = args.string('newName');
      const result: Series[] = [];
      for (const s of args.series('seriesList')) {
        const query = pythonSub(search, replace, s.name);
        const found = await evaluateTarget(parseTarget(query), context);
        if (found.length === 0) throw new QueryError(`No series found with query: ${query}`);
        const current = safeLast(consolidatedValues(found[0]!));
        if (current === null) throw new QueryError(`Cannot get last value of series: ${found[0]!.name}`);
        let name: string;
        try {
          name = pyPercent(newName, current);
        } catch (error) {
          throw new QueryError(`aliasQuery: newName "${newName}": ${(error as Error).message}`);
        }
        result.push(withFields(s, { name }));
      }
      return result;
    },
  },
];
