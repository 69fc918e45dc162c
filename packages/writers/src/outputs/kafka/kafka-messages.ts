/**
 * The two JSON message kinds of the `kafka` writer. `metric`: one StatPoint (`time` is the window start in
 * nanoseconds, `resolution` and `ttl` in seconds); `index`: a series seen for the first time by this writer
 * (`segments` its path nodes, `senttime` nanoseconds). `id` is the series id (FNV-1a 64, signed, as Cassandra
 * keeps it) as a decimal string, since JSON numbers lose 64-bit precision; it is also every message's key, so one
 * series stays in one partition, in order.
 */
import { seriesId, splitCanonical } from '@carillon/core';
import type { PointRow } from '../rows.js';

export interface MetricMessage {
  type: 'metric';
  time: string;
  metric: string;
  id: string;
  sum: number;
  mean: number;
  min: number;
  max: number;
  first: number;
  last: number;
  count: number;
  resolution: number;
  ttl: number;
  tags: Record<string, string>;
}

export interface IndexMessage {
  id: string;
  type: 'index' | 'delete-index';
  path: string;
  segments: string[];
  senttime: string;
  tags: Record<string, string>;
}

export interface SeriesFacts {
  id: string;
  path: string;
  tags: Record<string, string>;
}

/** Id, path and tags of a series (static tags first, the series' own win). */
export function seriesFacts(name: string, staticTags: Readonly<Record<string, string>>): SeriesFacts {
  const { path, tags } = splitCanonical(name);
  return { id: String(seriesId(path, tags)), path, tags: { ...staticTags, ...Object.fromEntries(tags) } };
}

export function metricMessage(row: PointRow, facts: SeriesFacts): MetricMessage {
  return {
    type: 'metric',
    time: `${BigInt(row.time) * 1_000_000_000n}`,
    metric: facts.path,
    id: facts.id,
    sum: row.sum,
    mean: row.mean,
    min: row.min,
    max: row.max,
    first: row.first,
    last: row.last,
    count: row.count,
    resolution: row.step,
    ttl: row.ttl,
    tags: facts.tags,
  };
}

export function indexMessage(facts: SeriesFacts, nowMs: number): IndexMessage {
  return {
    id: facts.id,
    type: 'index',
    path: facts.path,
    segments: facts.path.split('.'),
    senttime: `${BigInt(nowMs) * 1_000_000n}`,
    tags: facts.tags,
  };
}
