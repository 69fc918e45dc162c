/**
 * Splitting one JSON render over idle render workers, so a large render uses every core: a render of several
 * targets by contiguous runs of its targets, a render of one target that reads series by series (a read under
 * name-only calls) by contiguous runs of that read's series. Each part is evaluated in a worker of its own; once
 * every part is, each encodes its series with the whole answer's shape (its range, whether any series has values),
 * and the parts' JSON lists are joined in order: byte for byte the answer one worker would give.
 */
import type { RenderJob, RenderPart } from './render-job.js';
import type { AnswerShape, RenderBody } from './render-output.js';
import { seriesWise } from './read-plan.js';
import type { ResolvedRead } from './series-loader.js';
import { callsFunction, type TargetExpression } from './target-expression.js';

/**
 * The parts of `job` (its `targets` parsed) for `workers` idle workers, or undefined when it is not split.
 * `slicing`: whether the workers read the store themselves (a part's share of a read's series is read by its
 * worker only).
 */
export function splitRender(
  job: RenderJob,
  targets: readonly TargetExpression[],
  workers: number,
  slicing: boolean,
): RenderJob[] | undefined {
  if (workers < 2 || job.format !== 'json' || job.part) return undefined;
  // stacked() keeps running totals across the render's targets
  if (targets.some((t) => callsFunction(t, 'stacked'))) return undefined;
  // the joined answer is wrapped once
  const { jsonp: _wrappedOnce, ...unwrapped } = job;
  const count = job.targets.length;
  let by: RenderPart['by'];
  if (count >= 2) by = 'targets';
  else if (slicing && seriesWise(targets[0]!)) by = 'series';
  else return undefined;
  const of = by === 'targets' ? Math.min(workers, count) : workers;
  const bytes = new SharedArrayBuffer(8);
  return Array.from({ length: of }, (_, index) => ({ ...unwrapped, part: { index, of, by, bytes } }));
}

/** The part's share of a read's series (a part by series). */
export function partOfRead(read: ResolvedRead, part: RenderPart): ResolvedRead {
  const [from, to] = shareOf(read.names.length, part);
  return { ...read, names: read.names.slice(from, to), windows: read.windows.slice(from, to) };
}

/** The shape of an answer made of parts with these shapes. */
export function joinedShape(parts: readonly AnswerShape[]): AnswerShape {
  return {
    start: Math.min(...parts.map((p) => p.start)),
    end: Math.max(...parts.map((p) => p.end)),
    anyValues: parts.some((p) => p.anyValues),
  };
}

/** The parts' JSON lists (`[...]` each, in order) as one answer, wrapped in `jsonp(...)` when asked. */
export function joinedJson(lists: readonly Buffer[], jsonp: string | undefined): RenderBody {
  const chunks: Buffer[] = [];
  if (jsonp !== undefined) chunks.push(Buffer.from(`${jsonp}(`, 'utf8'));
  chunks.push(OPEN);
  let first = true;
  for (const list of lists) {
    if (list.length <= 2) continue; // []
    if (!first) chunks.push(COMMA);
    chunks.push(list.subarray(1, list.length - 1));
    first = false;
  }
  chunks.push(CLOSE);
  if (jsonp !== undefined) chunks.push(CLOSE_CALL);
  const contentType = jsonp !== undefined ? 'text/javascript' : 'application/json';
  return { contentType: `${contentType}; charset=utf-8`, body: chunks };
}

const OPEN = Buffer.from('[');
const COMMA = Buffer.from(',');
const CLOSE = Buffer.from(']');
const CLOSE_CALL = Buffer.from(')');

/** [from, to) of `count` items (targets, or a read's series) for a part: contiguous, in order, sizes within one. */
export function shareOf(count: number, { index, of }: { index: number; of: number }): [number, number] {
  return [Math.floor((count * index) / of), Math.floor((count * (index + 1)) / of)];
}
