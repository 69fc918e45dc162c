/**
 * One render as data (what the request asked, times already resolved) and its evaluation: targets parsed, read
 * through a SeriesLoad, functions applied, the answer encoded. The same code runs in a render worker and, with no
 * workers, on the calling thread.
 */
import { evaluateTarget } from './functions/index.js';
import { plannedReads, readPlan } from './read-plan.js';
import { RenderContext } from './render-context.js';
import { shareOf } from './render-split.js';
import {
  csvBody,
  jsonBody,
  msgpackBody,
  pickleBody,
  rawBody,
  type AnswerShape,
  type RenderBody,
} from './render-output.js';
import type { Series } from './series.js';
import type { SeriesLoad, SeriesLoadMany } from './series-loader.js';
import { parseTarget } from './target-expression.js';

export interface RenderJob {
  targets: string[];
  format: string;
  from: number;
  until: number;
  now: number;
  xFilesFactor: number;
  maxDataPoints?: number;
  noNullPoints: boolean;
  jsonp?: string;
  /** `template[name]=value` parameters. */
  template: [string, string][];
  /** One part of a render split over workers (render-split.ts). */
  part?: RenderPart;
}

/**
 * A part of a render split over workers: its JSON is encoded once every part is evaluated, with the whole answer's
 * shape. Its share is a run of the render's targets, or of the series of every read (a render of one target that
 * reads series by series).
 */
export interface RenderPart {
  index: number;
  of: number;
  by: 'targets' | 'series';
  /** One BigInt64: the bytes of values the parts hold together, charged against the render's byte budget. */
  bytes: SharedArrayBuffer;
}

/** `loadMany`, where the reads can be batched: every read over the render's range is made before evaluating. */
export async function runRender(job: RenderJob, loader: SeriesLoad, loadMany?: SeriesLoadMany): Promise<RenderBody> {
  return encodeRender(await evaluateRender(job, loader, loadMany), job);
}

/** The series of the render's targets, in order. */
export async function evaluateRender(job: RenderJob, loader: SeriesLoad, loadMany?: SeriesLoadMany): Promise<Series[]> {
  const all = job.targets.map((t) => parseTarget(t));
  // planned over every target: consolidating as read is right only when it is for all of them
  const consolidate = readPlan(all, job);
  const targets = job.part?.by === 'targets' ? all.slice(...shareOf(all.length, job.part)) : all;
  const context = new RenderContext(
    { loader, loadMany, template: new Map(job.template), consolidate },
    job.from,
    job.until,
    job.now,
    job.xFilesFactor,
  );
  if (loadMany) await context.prefetch(plannedReads(targets));
  const series: Series[] = [];
  for (const target of targets) series.push(...(await evaluateTarget(target, context)));
  return series;
}

/** The answer in the job's format; `shape`, the whole answer's where `series` are one part of it (JSON only). */
export function encodeRender(series: readonly Series[], job: RenderJob, shape?: AnswerShape): RenderBody {
  if (job.format === 'raw') return rawBody(series);
  if (job.format === 'csv') return csvBody(series);
  if (job.format === 'pickle') return pickleBody(series);
  if (job.format === 'msgpack') return msgpackBody(series);
  const { maxDataPoints, noNullPoints, jsonp } = job;
  return jsonBody(series, { maxDataPoints, noNullPoints, jsonp, shape });
}
