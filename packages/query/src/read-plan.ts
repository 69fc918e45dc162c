/**
 * Which reads of a render may be consolidated for maxDataPoints as they are read, so that maxDataPoints bounds a
 * render's memory instead of series × raw windows. Allowed when the answer is JSON with maxDataPoints and every
 * target is a read wrapped only in functions that look at names, never at values or times (aliases, styling,
 * name filters, consolidateBy): then graphite-web's JSON consolidation of each series depends only on that series
 * and the render's own range, and making it at the read gives the same values (the same code does it).
 */
import type { ConsolidationFunction } from './consolidation.js';
import { parseConsolidationFunction } from './consolidation.js';
import { RENDER_FUNCTIONS } from './functions/index.js';
import type { ReadConsolidation } from './series-loader.js';
import { callsFunction, type TargetExpression } from './target-expression.js';

/** Functions whose output series carry the values and times of their input unchanged. */
const NAME_ONLY = new Set([
  'alias',
  'aliasSub',
  'aliasByNode',
  'aliasByTags',
  'aliasByMetric',
  'alpha',
  'color',
  'lineWidth',
  'dashed',
  'secondYAxis',
  'consolidateBy',
  'sortByName',
  'grep',
  'exclude',
]);

export interface PlanRequest {
  format: string;
  maxDataPoints?: number;
  xFilesFactor: number;
}

/** The reads (by path expression or seriesByTag call text) to consolidate as read, or none. */
export function readPlan(
  targets: readonly TargetExpression[],
  request: PlanRequest,
): Map<string, ReadConsolidation> | undefined {
  if (request.format !== 'json' || request.maxDataPoints === undefined) return undefined;
  const byKey = new Map<string, ConsolidationFunction | null>();
  for (const target of targets) {
    const read = readUnder(target, undefined);
    if (!read) return undefined;
    const known = byKey.get(read.key);
    // one text read two ways (with and without consolidateBy) is read raw
    byKey.set(read.key, known === undefined || known === read.fn ? read.fn : null);
  }
  const plan = new Map<string, ReadConsolidation>();
  for (const [key, fn] of byKey)
    if (fn !== null)
      plan.set(key, {
        maxDataPoints: request.maxDataPoints,
        consolidationFunc: fn,
        xFilesFactor: request.xFilesFactor,
      });
  return plan;
}

/**
 * Whether a target is one read under name-only calls that keep each series apart (all but sortByName): its answer
 * is, series by series and in order, what it makes of each of the read's series.
 */
export function seriesWise(target: TargetExpression): boolean {
  return readUnder(target, undefined) !== undefined && !callsFunction(target, 'sortByName');
}

/** The read at the bottom of a chain of name-only calls, with the outermost consolidateBy's function. */
function readUnder(
  e: TargetExpression,
  fn: ConsolidationFunction | undefined,
): { key: string; fn: ConsolidationFunction } | undefined {
  if (e.kind === 'path') return e.path.includes('$') ? undefined : { key: e.path, fn: fn ?? 'average' };
  if (e.kind !== 'call') return undefined;
  if (e.name === 'seriesByTag')
    return e.args.every((a) => a.kind === 'string') ? { key: e.raw, fn: fn ?? 'average' } : undefined;
  if (!NAME_ONLY.has(e.name) || e.kwargs.length > 0) return undefined;
  const [series, ...rest] = e.args;
  if (!series || rest.some((a) => a.kind === 'call' || a.kind === 'path')) return undefined;
  let chosen = fn;
  if (e.name === 'consolidateBy' && chosen === undefined) {
    const arg = rest[0];
    if (arg?.kind !== 'string') return undefined;
    try {
      chosen = parseConsolidationFunction(arg.value);
    } catch {
      return undefined; // the call itself answers the error
    }
  }
  return readUnder(series, chosen);
}

/** A read the evaluation of a render's targets will make over the render's own range. */
export type PlannedRead = { kind: 'path'; text: string } | { kind: 'tagged'; text: string; expressions: string[] };

/**
 * Every read the targets make over the render's own range, in the order their evaluation makes them (graphite-web
 * evaluates every argument first, left to right, in the request's range), each once: what can be fetched in one
 * batch before evaluating (graphite-web's prefetch). Not under template() (its paths are rewritten) nor under a
 * call that is no function (evaluating it fails before its arguments are read).
 */
export function plannedReads(targets: readonly TargetExpression[]): PlannedRead[] {
  const reads = new Map<string, PlannedRead>();
  const walk = (e: TargetExpression): void => {
    if (e.kind === 'path') {
      if (!reads.has(e.path)) reads.set(e.path, { kind: 'path', text: e.path });
      return;
    }
    if (e.kind !== 'call' || e.name === 'template') return;
    if (e.name === 'seriesByTag') {
      const expressions: string[] = [];
      for (const a of e.args) if (a.kind === 'string') expressions.push(a.value);
      if (expressions.length > 0 && expressions.length === e.args.length && !reads.has(e.raw))
        reads.set(e.raw, { kind: 'tagged', text: e.raw, expressions });
      return;
    }
    if (!RENDER_FUNCTIONS.has(e.name)) return;
    for (const a of e.args) walk(a);
    for (const { value } of e.kwargs) walk(value);
  };
  for (const target of targets) walk(target);
  return [...reads.values()];
}
