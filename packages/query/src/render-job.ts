/**
 * One render as data (what the request asked, times already resolved) and its evaluation: targets parsed, read
 * through a SeriesLoad, functions applied, the answer encoded. The same code runs in a render worker and, with no
 * workers, on the calling thread.
 */
import { evaluateTarget } from './functions/index.js';
import { plannedReads, readPlan } from './read-plan.js';
import { RenderContext } from './render-context.js';
import { csvBody, jsonBody, msgpackBody, pickleBody, rawBody, type RenderBody } from './render-output.js';
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
}

/** `loadMany`, where the reads can be batched: every read over the render's range is made before evaluating. */
export async function runRender(job: RenderJob, loader: SeriesLoad, loadMany?: SeriesLoadMany): Promise<RenderBody> {
  const targets = job.targets.map((t) => parseTarget(t));
  const consolidate = readPlan(targets, job);
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
  if (job.format === 'raw') return rawBody(series);
  if (job.format === 'csv') return csvBody(series);
  if (job.format === 'pickle') return pickleBody(series);
  if (job.format === 'msgpack') return msgpackBody(series);
  return jsonBody(series, { maxDataPoints: job.maxDataPoints, noNullPoints: job.noNullPoints, jsonp: job.jsonp });
}
