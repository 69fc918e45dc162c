/** `[query]`: the render workers and the budgets every render runs under. */
import { configKey, readSection, type ConfigSource } from '@carillon/core';
import type { RenderPoolOptions } from './render-pool.js';

export const QUERY_KEYS = {
  renderWorkers: configKey.integer({
    key: 'query.render_workers',
    default: 2,
    min: 0,
    unit: 'threads',
    description:
      'worker threads that evaluate renders (one render each at a time), off the ingest thread; 0 renders on the ingest thread, without time or memory budgets',
  }),
  renderTimeBudgetMs: configKey.duration({
    key: 'query.render_time_budget',
    default: '30s',
    min: '10ms',
    readAs: 'milliseconds',
    description:
      'a render not answered in this time (queue wait included) is stopped and answered 503 (query_render_refused_total{reason="time_budget"})',
  }),
  renderMemoryBudgetBytes: configKey.integer({
    key: 'query.render_memory_budget',
    default: 1 << 30,
    min: 32 << 20,
    unit: 'bytes',
    description:
      'heap of one render worker, so of one render; a render that needs more is stopped and answered 503 (reason="memory_budget")',
  }),
  renderMaxQueued: configKey.integer({
    key: 'query.render_max_queued',
    default: 64,
    min: 1,
    unit: 'items',
    description: 'renders waiting for a free worker; more are answered 503 (reason="queue_full")',
  }),
  workerNice: configKey.integer({
    key: 'query.worker_nice',
    default: 10,
    min: 0,
    max: 19,
    description:
      'nice value of the render and match worker threads (Linux), so on a busy machine the ingest thread (listeners, /healthz) is scheduled before render work; 0 keeps their priority',
  }),
  renderMaxBytes: configKey.integer({
    key: 'query.render_max_bytes',
    default: 256 << 20,
    min: 1024,
    unit: 'bytes',
    description:
      'values one render may hold, 8 bytes each after consolidating as read (JSON with maxDataPoints); more is answered 400',
  }),
  renderMaxSeries: configKey.integer({
    key: 'query.render_max_series',
    default: 10_000,
    min: 1,
    unit: 'series',
    description: 'series one render may read over all its targets; more is answered 400',
  }),
} as const;

export interface QueryConfig {
  render: RenderPoolOptions;
  maxRenderBytes: number;
  maxSeriesPerRender: number;
}

export function readQueryConfig(source: ConfigSource): QueryConfig {
  const q = readSection(source, QUERY_KEYS);
  return {
    render: {
      workers: q.renderWorkers,
      timeBudgetMs: q.renderTimeBudgetMs,
      memoryBudgetBytes: q.renderMemoryBudgetBytes,
      maxQueued: q.renderMaxQueued,
      workerNice: q.workerNice,
    },
    maxRenderBytes: q.renderMaxBytes,
    maxSeriesPerRender: q.renderMaxSeries,
  };
}
