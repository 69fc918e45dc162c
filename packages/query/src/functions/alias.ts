/** graphite-web's Alias group: functions that only rename series. */
import { aggKey, pythonSub } from './common.js';
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
      return args.series('seriesList').map((s) => ({ ...s, name }));
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
      return args.series('seriesList').map((s) => ({ ...s, name: pythonSub(search, replace, s.name) }));
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
      return args.series('seriesList').map((s) => ({ ...s, name: aggKey(s, nodes) }));
    },
  },
  {
    name: 'aliasByTags',
    group: 'Alias',
    description: 'Takes a seriesList and applies an alias derived from one or more tags and/or nodes.',
    params: [SERIES_LIST, { name: 'tags', type: 'nodeOrTag', required: true, multiple: true }],
    run(_context, args) {
      const tags = args.scalars('tags');
      return args.series('seriesList').map((s) => ({ ...s, name: aggKey(s, tags) }));
    },
  },
  {
    name: 'aliasByMetric',
    group: 'Alias',
    description: 'Takes a seriesList and applies an alias derived from the base metric name.',
    params: [SERIES_LIST],
    run(_context, args) {
      return args.series('seriesList').map((s) => ({ ...s, name: substr(s.name, -1, 0) }));
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
