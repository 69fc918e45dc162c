/** The render function registry: every function carillon implements, by graphite-web's name. */
import { ALIAS_FUNCTIONS, LEGEND_FUNCTIONS, QUERY_ALIAS_FUNCTIONS } from './alias.js';
import {
  CALCULATE_FUNCTIONS,
  LINE_CALCULATE_FUNCTIONS,
  MORE_CALCULATE_FUNCTIONS,
  REGRESSION_FUNCTIONS,
} from './calculate.js';
import {
  COMBINE_FUNCTIONS,
  DIVIDE_LISTS_FUNCTIONS,
  LIST_COMBINE_FUNCTIONS,
  MAP_REDUCE_FUNCTIONS,
  MORE_COMBINE_FUNCTIONS,
} from './combine.js';
import {
  FILTER_FUNCTIONS,
  MORE_FILTER_FUNCTIONS,
  PERCENTILE_FILTER_FUNCTIONS,
  QUERY_FILTER_FUNCTIONS,
} from './filter.js';
import { HOLT_WINTERS_FUNCTIONS } from './holt-winters.js';
import { GRAPH_FUNCTIONS, LINE_GRAPH_FUNCTIONS, MORE_GRAPH_FUNCTIONS } from './graph.js';
import type { RenderFunction } from './registry.js';
import { SORTING_FUNCTIONS } from './sorting.js';
import { RANDOM_FUNCTIONS, SPECIAL_FUNCTIONS } from './special.js';
import {
  GENERATOR_TRANSFORM_FUNCTIONS,
  MORE_TRANSFORM_FUNCTIONS,
  SLICE_TRANSFORM_FUNCTIONS,
  STACK_TRANSFORM_FUNCTIONS,
  TRANSFORM_FUNCTIONS,
} from './transform.js';

/** seriesByTag is evaluated by the evaluator itself (graphite-web fetches it by its text); listed for /functions. */
const SERIES_BY_TAG: RenderFunction = {
  name: 'seriesByTag',
  group: 'Special',
  description:
    "Returns a SeriesList of series matching all the specified tag expressions: 'tag=value', 'tag!=value', 'tag=~regex', 'tag!=~regex'.",
  params: [{ name: 'tagExpressions', type: 'string', required: true, multiple: true }],
  run: () => [],
};

const ALL: RenderFunction[] = [
  ...ALIAS_FUNCTIONS,
  ...LEGEND_FUNCTIONS,
  ...QUERY_ALIAS_FUNCTIONS,
  ...CALCULATE_FUNCTIONS,
  ...MORE_CALCULATE_FUNCTIONS,
  ...LINE_CALCULATE_FUNCTIONS,
  ...REGRESSION_FUNCTIONS,
  ...HOLT_WINTERS_FUNCTIONS,
  ...COMBINE_FUNCTIONS,
  ...MORE_COMBINE_FUNCTIONS,
  ...LIST_COMBINE_FUNCTIONS,
  ...DIVIDE_LISTS_FUNCTIONS,
  ...MAP_REDUCE_FUNCTIONS,
  ...FILTER_FUNCTIONS,
  ...MORE_FILTER_FUNCTIONS,
  ...PERCENTILE_FILTER_FUNCTIONS,
  ...QUERY_FILTER_FUNCTIONS,
  ...GRAPH_FUNCTIONS,
  ...MORE_GRAPH_FUNCTIONS,
  ...LINE_GRAPH_FUNCTIONS,
  ...SORTING_FUNCTIONS,
  ...SPECIAL_FUNCTIONS,
  ...RANDOM_FUNCTIONS,
  SERIES_BY_TAG,
  ...TRANSFORM_FUNCTIONS,
  ...MORE_TRANSFORM_FUNCTIONS,
  ...STACK_TRANSFORM_FUNCTIONS,
  ...SLICE_TRANSFORM_FUNCTIONS,
  ...GENERATOR_TRANSFORM_FUNCTIONS,
];

export const RENDER_FUNCTIONS: ReadonlyMap<string, RenderFunction> = new Map(ALL.map((fn) => [fn.name, fn]));

/** The body of `/functions` in graphite-web's form: name, function signature, description, module, group, params. */
export function describeFunctions(): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  for (const fn of [...RENDER_FUNCTIONS.values()].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const signature = fn.params
      .map((p) => (p.multiple ? `*${p.name}` : p.default !== undefined ? `${p.name}=${String(p.default)}` : p.name))
      .join(', ');
    result[fn.name] = {
      name: fn.name,
      function: `${fn.name}(${signature})`,
      description: fn.description,
      module: 'graphite.render.functions',
      group: fn.group,
      params: fn.params.map((p) => {
        const json: Record<string, unknown> = { name: p.name, type: p.type };
        if (p.required) json.required = true;
        if (p.default !== undefined) json.default = p.default;
        if (p.multiple) json.multiple = true;
        if (p.options && p.options.length > 0) json.options = p.options;
        if (p.suggestions) json.suggestions = p.suggestions;
        return json;
      }),
    };
  }
  return result;
}

export { evaluateTarget } from './evaluate.js';
export type { RenderFunction } from './registry.js';
