import { parseMetricName } from '@carillon/core';
import { parseConsolidationFunction, type SeriesData } from './consolidation.js';
import { QueryError } from './errors.js';
import { hasGlob } from './glob.js';
import { fetchSeriesValues, type FetchWindow, type SeriesSources } from './series-fetch.js';
import type { SeriesFinder } from './series-finder.js';
import { seriesTags } from './series-tags.js';
import { parseTagQuery } from './tag-expression.js';
import type { TargetExpression } from './target-expression.js';

/** A series as a render target produces it. */
export interface RenderedSeries extends SeriesData {
  name: string;
  tags: Record<string, string>;
}

export interface RenderLimits {
  /** Series one render may read, over all its targets. */
  maxSeries: number;
  /** Windows one render may read (series × windows), before consolidation. */
  maxPoints: number;
  /** Store reads in flight at once for one render. */
  fetchConcurrency: number;
}

/** Everything one render's targets are evaluated against; reads of the same series are shared between targets. */
export class RenderContext {
  private readonly fetched = new Map<string, Promise<(number | null)[]>>();
  private pointsRead = 0;

  constructor(
    readonly finder: SeriesFinder,
    readonly sources: SeriesSources,
    readonly window: FetchWindow,
    readonly limits: RenderLimits,
  ) {}

  private values(name: string): Promise<(number | null)[]> {
    let values = this.fetched.get(name);
    if (!values) {
      if (this.fetched.size + 1 > this.limits.maxSeries)
        throw new QueryError(`render reads more than ${this.limits.maxSeries} series; narrow the targets`);
      this.pointsRead += this.window.count;
      if (this.pointsRead > this.limits.maxPoints)
        throw new QueryError(
          `render reads more than ${this.limits.maxPoints} datapoints; shorten the time range or narrow the targets`,
        );
      values = fetchSeriesValues(name, this.window, this.sources);
      this.fetched.set(name, values);
    }
    return values;
  }

  /** Reads named series, a bounded number at a time. */
  async series(names: readonly string[]): Promise<RenderedSeries[]> {
    const result: RenderedSeries[] = [];
    const { start, end, resolution } = this.window;
    for (let i = 0; i < names.length; i += this.limits.fetchConcurrency) {
      const chunk = names.slice(i, i + this.limits.fetchConcurrency);
      const fetched = await Promise.all(chunk.map((name) => this.values(name)));
      chunk.forEach((name, j) =>
        result.push({
          name,
          tags: seriesTags(name),
          start,
          end,
          step: resolution.step,
          values: fetched[j]!,
          consolidateBy: 'average',
        }),
      );
    }
    return result;
  }

  /**
   * Series named by a path: a glob expands over the index's leaves; a plain name is read even when the index does
   * not know it (the index may lag the store) and kept when it has any value.
   */
  async path(path: string): Promise<RenderedSeries[]> {
    if (hasGlob(path)) {
      const names = (await this.finder.find(path, this.limits.maxSeries))
        .filter((node) => node.leaf)
        .map((node) => node.path);
      return this.series(names);
    }
    const key = parseMetricName(path);
    if (typeof key === 'string') throw new QueryError(`invalid series name "${path}" (${key})`);
    const [series] = await this.series([key.canonical]);
    if (series!.values.some((v) => v !== null) || (await this.finder.has(key.canonical))) return [series!];
    return [];
  }
}

export type ParamType = 'seriesList' | 'string' | 'nodeOrTag';

export interface FunctionParam {
  name: string;
  type: ParamType;
  required?: boolean;
  multiple?: boolean;
  options?: readonly string[];
}

/** A render function, described the way graphite-web's `/functions` does so Grafana can offer it. */
export interface RenderFunction {
  name: string;
  group: string;
  description: string;
  params: readonly FunctionParam[];
  run(args: readonly TargetExpression[], context: RenderContext): Promise<RenderedSeries[]>;
}

/** Evaluates a parsed target into its series. */
export async function evaluateTarget(expression: TargetExpression, context: RenderContext): Promise<RenderedSeries[]> {
  switch (expression.kind) {
    case 'path':
      return context.path(expression.path);
    case 'call': {
      const fn = RENDER_FUNCTIONS.get(expression.name);
      if (!fn)
        throw new QueryError(
          `unknown function "${expression.name}"; supported: ${[...RENDER_FUNCTIONS.keys()].join(', ')}`,
        );
      checkArity(fn, expression.args);
      return fn.run(expression.args, context);
    }
    default:
      throw new QueryError(
        `expected a series list but found the ${expression.kind} ${JSON.stringify(expression.value)}`,
      );
  }
}

function checkArity(fn: RenderFunction, args: readonly TargetExpression[]): void {
  const required = fn.params.filter((p) => p.required).length;
  const variadic = fn.params.some((p) => p.multiple);
  if (args.length < required || (!variadic && args.length > fn.params.length))
    throw new QueryError(
      `${fn.name}(${fn.params.map((p) => p.name + (p.multiple ? '...' : '')).join(', ')}) got ${args.length} argument(s)`,
    );
}

function stringArg(fn: string, param: string, arg: TargetExpression | undefined): string {
  if (arg?.kind !== 'string') throw new QueryError(`${fn}: ${param} must be a quoted string`);
  return arg.value;
}

/** A path node index (negative counts from the end) or a tag name. */
function nodeOrTagArg(fn: string, arg: TargetExpression): number | string {
  if (arg.kind === 'number' && Number.isInteger(arg.value)) return arg.value;
  if (arg.kind === 'string') return arg.value;
  throw new QueryError(`${fn}: nodes must be integers or quoted tag names`);
}

function aliasFromNodes(series: RenderedSeries, selectors: readonly (number | string)[]): string {
  const nodes = (series.tags.name ?? series.name).split('.');
  const parts: string[] = [];
  for (const selector of selectors) {
    if (typeof selector === 'string') {
      const value = series.tags[selector];
      if (value !== undefined) parts.push(value);
    } else {
      const node = nodes[selector < 0 ? nodes.length + selector : selector];
      if (node !== undefined) parts.push(node);
    }
  }
  return parts.join('.');
}

const SERIES_LIST: FunctionParam = { name: 'seriesList', type: 'seriesList', required: true };

const FUNCTIONS: RenderFunction[] = [
  {
    name: 'seriesByTag',
    group: 'Special',
    description: "Series whose tags match every expression: 'tag=value', 'tag!=value', 'tag=~regex', 'tag!=~regex'.",
    params: [{ name: 'tagExpressions', type: 'string', required: true, multiple: true }],
    async run(args, context) {
      const expressions = parseTagQuery(args.map((arg) => stringArg('seriesByTag', 'each tag expression', arg)));
      return context.series(await context.finder.findTagged(expressions, context.limits.maxSeries));
    },
  },
  {
    name: 'consolidateBy',
    group: 'Special',
    description: 'Sets how values are consolidated when a response holds fewer points than the series has.',
    params: [
      SERIES_LIST,
      {
        name: 'consolidationFunc',
        type: 'string',
        required: true,
        options: ['sum', 'average', 'avg', 'min', 'max', 'first', 'last'],
      },
    ],
    async run(args, context) {
      const fn = parseConsolidationFunction(stringArg('consolidateBy', 'consolidationFunc', args[1]));
      return (await evaluateTarget(args[0]!, context)).map((s) => ({
        ...s,
        consolidateBy: fn,
        name: `consolidateBy(${s.name},"${fn}")`,
        tags: { ...s.tags, consolidateBy: fn },
      }));
    },
  },
  {
    name: 'alias',
    group: 'Alias',
    description: 'Names every series of the list newName.',
    params: [SERIES_LIST, { name: 'newName', type: 'string', required: true }],
    async run(args, context) {
      const name = stringArg('alias', 'newName', args[1]);
      return (await evaluateTarget(args[0]!, context)).map((s) => ({ ...s, name }));
    },
  },
  {
    name: 'aliasByNode',
    group: 'Alias',
    description:
      'Names each series by the given path nodes (0 is the first, -1 the last) or tag values, joined by dots.',
    params: [SERIES_LIST, { name: 'nodes', type: 'nodeOrTag', required: true, multiple: true }],
    async run(args, context) {
      const selectors = args.slice(1).map((arg) => nodeOrTagArg('aliasByNode', arg));
      return (await evaluateTarget(args[0]!, context)).map((s) => ({ ...s, name: aliasFromNodes(s, selectors) }));
    },
  },
  {
    name: 'aliasByTags',
    group: 'Alias',
    description: 'Names each series by the given tag values or path nodes, joined by dots.',
    params: [SERIES_LIST, { name: 'tags', type: 'nodeOrTag', required: true, multiple: true }],
    async run(args, context) {
      const selectors = args.slice(1).map((arg) => nodeOrTagArg('aliasByTags', arg));
      return (await evaluateTarget(args[0]!, context)).map((s) => ({ ...s, name: aliasFromNodes(s, selectors) }));
    },
  },
];

export const RENDER_FUNCTIONS: ReadonlyMap<string, RenderFunction> = new Map(FUNCTIONS.map((fn) => [fn.name, fn]));

/** The body of `/functions`: graphite-web's description format, keyed by function name. */
export function describeFunctions(): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  for (const fn of FUNCTIONS) {
    result[fn.name] = {
      name: fn.name,
      function: `${fn.name}(${fn.params.map((p) => (p.multiple ? `*${p.name}` : p.name)).join(', ')})`,
      description: fn.description,
      module: 'carillon.query',
      group: fn.group,
      params: fn.params.map((p) => ({ ...p, required: p.required ?? false })),
    };
  }
  return result;
}
