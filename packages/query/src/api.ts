import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  DEFAULT_AGGREGATION_RULES,
  hasRetentionRules,
  retentionFor,
  type RetentionRule,
  nowSeconds,
  sendJson,
  tagValueOf,
  type AggregationRule,
  type Logger,
  type MetricsRegistry,
  type PendingSource,
  type Resolution,
  type SeriesReader,
  type WorkerReaderSpec,
} from '@carillon/core';
import { answerPreflight, applyCors, type CorsOptions } from './cors.js';
import { QueryError } from './errors.js';
import { splitPathQuery } from './glob.js';
import { describeFunctions, RENDER_FUNCTIONS } from './functions/index.js';
import { runRender, type RenderJob } from './render-job.js';
import { graphiteJson, type RenderBody } from './render-output.js';
import { MatchPool } from './match-pool.js';
import { RenderPool, type RenderPoolOptions } from './render-pool.js';
import { pendingSlots, type FetchWindow, type PendingSlots } from './series-fetch.js';
import { fromFloat64 } from './series.js';
import { SeriesLoader } from './series-loader.js';
import { encodeMsgpack, encodePickle, WireInt, type WireValue } from './wire-encoding.js';
import { compileAnchoredRegex, type SafeRegex } from './regex.js';
import { readRequestParams } from './request-params.js';
import { indexFinder, unionFinder, type SeriesFinder } from './series-finder.js';
import type { FoundNode, SeriesIndex } from './series-index.js';
import { parseTagQuery } from './tag-expression.js';
import { parseTarget } from './target-expression.js';
import { parseTimeSpec } from './time-spec.js';

/** Bounds on what one request may read or answer. */
export interface QueryLimits {
  /** POST body size. */
  maxBodyBytes: number;
  /** `target` parameters per render. */
  maxTargets: number;
  /** Series one render may read. */
  maxSeriesPerRender: number;
  /** Bytes of values one render may hold (8 per value, after consolidating as read where the targets allow). */
  maxRenderBytes: number;
  /** Nodes `/metrics/find` and `/metrics/expand` may visit per query. */
  maxFindResults: number;
  /** Series a tag query may match (`/tags/findSeries`, autocomplete with `expr`). */
  maxTagSeries: number;
  /** Cap on an autocomplete `limit`; larger requests are clamped. */
  maxAutocompleteLimit: number;
  /** Autocomplete answers when no `limit` is given (graphite-web's TAGDB_AUTOCOMPLETE_LIMIT). */
  defaultAutocompleteLimit: number;
  /** Store reads in flight at once for one render. */
  fetchConcurrency: number;
}

export const DEFAULT_QUERY_LIMITS: QueryLimits = {
  maxBodyBytes: 1 << 20,
  maxTargets: 100,
  maxSeriesPerRender: 10_000,
  maxRenderBytes: 256 * 2 ** 20,
  maxFindResults: 100_000,
  maxTagSeries: 100_000,
  maxAutocompleteLimit: 10_000,
  defaultAutocompleteLimit: 100,
  fetchConcurrency: 32,
};

export interface GraphiteApiDeps {
  /** The in-memory index; find and tag queries use `finder` instead when it is given. */
  index?: SeriesIndex;
  /** A store's own index (the Cassandra path index), asked beside `index`. */
  storeFinder?: SeriesFinder;
  /** Where find and tag queries are answered instead of `index` (a cluster front's reads). */
  finder?: SeriesFinder;
  reader: SeriesReader;
  /**
   * How render workers open their own reader of the same store (whisper), so the values are read there, off this
   * thread; without, the render workers ask this thread for every read.
   */
  workerReader?: WorkerReaderSpec;
  pending: PendingSource;
  /** Finest first, as core's parseResolutions returns them. */
  resolutions: readonly Resolution[];
  /** The rules the store reduces StatPoints with; pending windows are reduced the same way. Default: core's. */
  aggregationRules?: readonly AggregationRule[];
  /** The resolutions each series is stored at (core retentionRules); default `resolutions` for every series. */
  retentionRules?: readonly RetentionRule[];
  /** Now in epoch seconds; default the wall clock. */
  now?: () => number;
  limits?: Partial<QueryLimits>;
  /** Browser origins allowed to read the API; none by default (no CORS headers). */
  cors?: CorsOptions;
  logger?: Logger;
  /** Render workers and budgets; without, renders run on the calling thread (no time or memory isolation). */
  render?: RenderPoolOptions;
  /** Where the render counters go (`query_render_*`). */
  metrics?: MetricsRegistry;
}

const RENDER_FORMATS = new Set(['json', 'csv', 'raw', 'pickle', 'msgpack']);

/** What graphite-web reports at /version; Grafana reads it to pick its Graphite dialect. */
export const GRAPHITE_VERSION = '1.1.10';

export type GraphiteApiHandler = (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;

/** The handler, and `close()` to stop its render workers. */
export interface GraphiteApi {
  (req: IncomingMessage, res: ServerResponse): Promise<boolean>;
  close(): Promise<void>;
  /**
   * With render workers that read the store themselves: the values of many series (stored, pending included), read
   * in a worker under the render budgets, for a cluster Fetch. Undefined otherwise.
   */
  fetchMany: ((names: readonly string[], window: FetchWindow) => Promise<(number | null)[][]>) | undefined;
  /** Where this API answers find and tag queries: globs and regexes over the index tested in its match workers. */
  finder: SeriesFinder;
}

/** graphite-web's tag database writes; here tags only come from ingested names. */
const TAG_WRITE_ROUTES = new Set(['/tags/tagSeries', '/tags/tagMultiSeries', '/tags/delSeries']);

type Route = (params: URLSearchParams, res: ServerResponse, pathname: string) => Promise<void> | void;

/**
 * The Graphite HTTP API Grafana's Graphite data source calls. Returns a handler that answers its routes and
 * returns false for any other path, so a service can put it beside its own /metrics and /healthz.
 */
export function createGraphiteApi(deps: GraphiteApiDeps): GraphiteApi {
  if (deps.resolutions.length === 0) throw new Error('createGraphiteApi needs at least one resolution');
  const limits: QueryLimits = { ...DEFAULT_QUERY_LIMITS, ...deps.limits };
  for (const [key, value] of Object.entries(limits))
    if (!Number.isInteger(value) || value < 1) throw new Error(`query limit ${key} must be a positive integer`);
  const now = deps.now ?? nowSeconds;
  const sources = {
    reader: deps.reader,
    pending: deps.pending,
    aggregationRules: deps.aggregationRules ?? DEFAULT_AGGREGATION_RULES,
    ...retentionSource(deps.retentionRules),
  };
  const renderLimits = {
    maxSeries: limits.maxSeriesPerRender,
    maxBytes: limits.maxRenderBytes,
    fetchConcurrency: limits.fetchConcurrency,
  };
  const pool =
    deps.render && deps.render.workers > 0
      ? new RenderPool(
          deps.render,
          deps.metrics,
          deps.logger,
          deps.workerReader ? { reader: deps.workerReader, limits: renderLimits } : undefined,
        )
      : undefined;
  // globs and regexes over the in-memory index are tested off this thread too
  const matchPool =
    deps.render && deps.render.workers > 0
      ? new MatchPool(
          {
            workers: deps.render.workers,
            timeBudgetMs: deps.render.timeBudgetMs,
            maxQueued: deps.render.maxQueued,
            workerNice: deps.render.workerNice,
          },
          deps.metrics,
          deps.logger,
        )
      : undefined;
  const indexed = deps.index ? indexFinder(deps.index, matchPool?.match) : undefined;
  const finder = deps.finder ?? (indexed && deps.storeFinder ? unionFinder([deps.storeFinder, indexed]) : indexed);
  if (!finder) throw new Error('createGraphiteApi needs an index or a finder');
  const index: SeriesFinder = finder;
  /** A /tags filter over `texts`: re.match, tested off this thread when there are workers. */
  async function filtered(params: URLSearchParams, texts: string[]): Promise<string[]> {
    const filter = optionalRegExp(params, 'filter');
    if (!filter) return texts;
    if (!matchPool) return texts.filter((t) => filter.test(t));
    const mask = await matchPool.match('anchored', params.get('filter')!, texts);
    return texts.filter((_, i) => mask[i] === 1);
  }
  const renderFamily = deps.metrics?.counter('query_renders_total', 'Renders by outcome', ['outcome']);
  const renders = {
    ok: renderFamily?.labels('ok'),
    bad_request: renderFamily?.labels('bad_request'),
    refused: renderFamily?.labels('refused'),
    failed: renderFamily?.labels('failed'),
  };

  async function find(params: URLSearchParams, res: ServerResponse): Promise<void> {
    let query = required(params, 'query');
    const format = params.get('format') ?? 'treejson';
    const wildcards = params.get('wildcards') === '1';
    if (format === 'completer') {
      // graphite-web: the completer always completes the last node
      query = query.replace(/\.\./g, '*.');
      if (!query.endsWith('*')) query += '*';
    }
    const nodes = await index.find(query, limits.maxFindResults);
    if (format === 'treejson') sendJson(res, 200, treeJson(query, nodes, wildcards));
    else if (format === 'completer') sendJson(res, 200, completerJson(nodes, wildcards));
    else if (format === 'pickle' || format === 'msgpack') {
      // what graphite-web's remote finder (CLUSTER_SERVERS) reads: path, is_leaf, and a leaf's intervals
      const current = now();
      // A leaf's interval reaches back its own longest retention (its retention rule's, else times').
      const resolutionsOf = sources.retentionOf ?? (() => deps.resolutions);
      const info = remoteNodes(nodes, (path) => current - Math.max(...resolutionsOf(path).map((r) => r.ttl)), current);
      sendBody(
        res,
        format === 'pickle'
          ? { contentType: 'application/pickle', body: encodePickle(info) }
          : { contentType: 'application/x-msgpack', body: encodeMsgpack(info) },
      );
    } else throw new QueryError(`unsupported find format "${format}": use treejson, completer, pickle or msgpack`);
  }

  async function expand(params: URLSearchParams, res: ServerResponse): Promise<void> {
    const queries = params.getAll('query');
    if (queries.length === 0) throw new QueryError('missing parameter "query"');
    const leavesOnly = params.get('leavesOnly') === '1';
    const groupByExpr = params.get('groupByExpr') === '1';
    const byQuery = new Map<string, string[]>();
    for (const query of queries) {
      const nodes = await index.find(query, limits.maxFindResults);
      byQuery.set(
        query,
        nodes.filter((n) => n.leaf || !leavesOnly).map((n) => n.path),
      );
    }
    if (groupByExpr) sendJson(res, 200, { results: Object.fromEntries(byQuery) });
    else sendJson(res, 200, { results: [...new Set([...byQuery.values()].flat())].sort() });
  }

  async function render(params: URLSearchParams, res: ServerResponse): Promise<void> {
    // graphite-web reads target=, or target[]= as jQuery and PHP send it
    const given = params.getAll('target').length > 0 ? params.getAll('target') : params.getAll('target[]');
    const targets = given.filter((t) => t.trim().length > 0);
    if (targets.length > limits.maxTargets)
      throw new QueryError(`${targets.length} targets is more than the limit of ${limits.maxTargets}`);
    let format = params.has('pickle') ? 'pickle' : params.has('rawData') ? 'raw' : 'json';
    if (params.has('format')) format = params.get('format')!;
    if (!RENDER_FORMATS.has(format))
      throw new QueryError(`unsupported render format "${format}": use ${[...RENDER_FORMATS].join(', ')}`);
    // graphite-web ignores a maxDataPoints that is not all digits
    const maxDataPointsText = params.get('maxDataPoints');
    const maxDataPoints = maxDataPointsText && /^\d+$/.test(maxDataPointsText) ? Number(maxDataPointsText) : undefined;
    if (maxDataPoints === 0) throw new QueryError('parameter "maxDataPoints" must be a positive integer');
    const xFilesFactor = params.has('xFilesFactor') ? Number(params.get('xFilesFactor')) : 0;
    if (!Number.isFinite(xFilesFactor)) throw new QueryError('parameter "xFilesFactor" must be a number');

    const wallClock = now();
    const current = params.has('now') ? parseTimeSpec(params.get('now')!, wallClock) : wallClock;
    const untilParsed = params.has('until') ? parseTimeSpec(params.get('until')!, current) : current;
    const fromParsed = parseTimeSpec(params.get('from') ?? '-1d', current);
    const from = Math.min(fromParsed, untilParsed);
    const until = Math.max(fromParsed, untilParsed);
    if (from === until) throw new QueryError('invalid empty time range: from and until are the same time');

    // bad targets answer 400 naming the position before any work is queued
    const parsed = targets.map((target) => parseTarget(target));
    const job: RenderJob = {
      targets,
      format,
      from,
      until,
      now: current,
      xFilesFactor,
      maxDataPoints,
      noNullPoints: params.has('noNullPoints'),
      jsonp: params.has('format') && params.has('jsonp') ? params.get('jsonp')! : undefined,
      template: [...templateParams(params)],
    };
    const newLoader = (): SeriesLoader =>
      new SeriesLoader({ finder: index, sources, resolutions: deps.resolutions, limits: renderLimits });
    let answer: RenderBody;
    try {
      answer = pool ? await pool.run(job, parsed, newLoader) : await runRender(job, newLoader().load);
      renders.ok?.inc();
    } catch (error) {
      if (error instanceof QueryError) (error.status === 400 ? renders.bad_request : renders.refused)?.inc();
      else renders.failed?.inc();
      throw error;
    }
    sendBody(res, answer);
  }

  async function tagList(params: URLSearchParams, res: ServerResponse): Promise<void> {
    const limit = optionalPositiveInteger(params, 'limit');
    const tags = await filtered(params, await index.tagNames());
    sendJson(
      res,
      200,
      tags.slice(0, limit).map((tag) => ({ tag })),
    );
  }

  async function tagDetails(params: URLSearchParams, res: ServerResponse, tag: string): Promise<void> {
    const limit = optionalPositiveInteger(params, 'limit');
    const all = await index.tagValues(tag);
    const kept = new Set(
      await filtered(
        params,
        all.map((v) => v.value),
      ),
    );
    const values = all.filter((v) => kept.has(v.value));
    sendJson(res, 200, { tag, values: values.slice(0, limit).map(({ count, value }) => ({ count, value })) });
  }

  async function findSeries(params: URLSearchParams, res: ServerResponse): Promise<void> {
    const exprs = params.getAll('expr');
    if (exprs.length === 0) throw new QueryError('missing parameter "expr"');
    sendJson(res, 200, await index.findTagged(parseTagQuery(exprs), limits.maxTagSeries));
  }

  function autocompleteLimit(params: URLSearchParams): number {
    return Math.min(
      optionalPositiveInteger(params, 'limit') ?? limits.defaultAutocompleteLimit,
      limits.maxAutocompleteLimit,
    );
  }

  async function autocompleteTags(params: URLSearchParams, res: ServerResponse): Promise<void> {
    const prefix = params.get('tagPrefix') ?? '';
    const limit = autocompleteLimit(params);
    const exprs = params.getAll('expr').filter((e) => e.length > 0);
    let tags: string[];
    if (exprs.length === 0) {
      tags = (await index.tagNames()).filter((t) => t.startsWith(prefix));
    } else {
      const expressions = parseTagQuery(exprs);
      const searched = new Set(expressions.map((e) => e.tag));
      const found = new Set<string>();
      for (const name of await index.findTagged(expressions, limits.maxTagSeries))
        for (const tag of tagNamesOf(name)) if (!searched.has(tag) && tag.startsWith(prefix)) found.add(tag);
      tags = [...found].sort();
    }
    sendJson(res, 200, tags.slice(0, limit));
  }

  async function autocompleteValues(params: URLSearchParams, res: ServerResponse): Promise<void> {
    const tag = required(params, 'tag');
    const prefix = params.get('valuePrefix') ?? '';
    const limit = autocompleteLimit(params);
    const exprs = params.getAll('expr').filter((e) => e.length > 0);
    let values: string[];
    if (exprs.length === 0) {
      values = (await index.tagValues(tag)).map((v) => v.value).filter((v) => v.startsWith(prefix));
    } else {
      const found = new Set<string>();
      for (const name of await index.findTagged(parseTagQuery(exprs), limits.maxTagSeries)) {
        const value = tagValueOf(name, tag);
        if (value !== undefined && value.startsWith(prefix)) found.add(value);
      }
      values = [...found].sort();
    }
    sendJson(res, 200, values.slice(0, limit));
  }

  const routes = new Map<string, Route>([
    ['/metrics/find', find],
    ['/metrics/expand', expand],
    ['/metrics/index.json', async (_params, res) => sendJson(res, 200, await index.names(limits.maxFindResults))],
    ['/render', render],
    ['/tags', tagList],
    ['/tags/findSeries', findSeries],
    ['/tags/autoComplete/tags', autocompleteTags],
    ['/tags/autoComplete/values', autocompleteValues],
    ['/version', (_params, res) => sendText(res, 'text/plain', GRAPHITE_VERSION)],
    ['/functions', (_params, res) => sendText(res, 'application/json', graphiteJson(describeFunctions()))],
  ]);

  function routeFor(pathname: string): Route | undefined {
    const route = routes.get(pathname);
    if (route) return route;
    if (TAG_WRITE_ROUTES.has(pathname))
      return () => {
        throw new QueryError(
          `${pathname} is not supported: series get their tags from the metric names sent to carillon`,
        );
      };
    if (pathname.startsWith('/tags/') && pathname.indexOf('/', 6) < 0)
      return (params, res) => tagDetails(params, res, decodeURIComponent(pathname.slice(6)));
    if (pathname.startsWith('/functions/') && pathname.indexOf('/', 11) < 0)
      return (_params, res) => {
        const name = decodeURIComponent(pathname.slice(11));
        if (!RENDER_FUNCTIONS.has(name)) throw new QueryError(`unknown function "${name}"`, 404);
        sendText(res, 'application/json', graphiteJson(describeFunctions()[name]));
      };
    return undefined;
  }

  const handler = async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    // graphite-web accepts its routes with and without a trailing slash
    const pathname = url.pathname.length > 1 ? url.pathname.replace(/\/+$/, '') : url.pathname;
    const route = routeFor(pathname);
    if (!route) return false;
    // A preflight is answered whatever the origin: without CORS headers the browser refuses on its own.
    if (req.method === 'OPTIONS') {
      answerPreflight(req, res, deps.cors);
      return true;
    }
    applyCors(req, res, deps.cors);
    try {
      if (req.method !== 'GET' && req.method !== 'POST' && req.method !== 'HEAD')
        throw new QueryError(`method ${req.method} is not allowed: use GET, POST or OPTIONS`, 405);
      const params = await readRequestParams(req, limits.maxBodyBytes);
      await route(params, res, pathname);
    } catch (error) {
      if (error instanceof QueryError) {
        sendJson(res, error.status, { error: error.message, message: error.message });
      } else {
        deps.logger?.error({ err: error, url: req.url }, 'graphite api request failed');
        sendJson(res, 500, { error: 'internal error', message: 'internal error' });
      }
    }
    return true;
  };
  async function fetchMany(names: readonly string[], window: FetchWindow): Promise<(number | null)[][]> {
    // the windows only this thread holds, taken before the worker reads the files
    const pending = new Map<string, PendingSlots>();
    for (const name of names) {
      const slots = pendingSlots(name, window, sources);
      if (slots) pending.set(name, slots);
    }
    return (await pool!.read([...names], window, pending)).map(fromFloat64);
  }
  return Object.assign(handler, {
    close: async () => {
      await Promise.all([pool?.close(), matchPool?.close()]);
    },
    fetchMany: pool?.readsInWorkers ? fetchMany : undefined,
    finder,
  });
}

/** graphite-web's `template[name]=value` request parameters. */
function templateParams(params: URLSearchParams): Map<string, string> {
  const template = new Map<string, string>();
  for (const [key, value] of params)
    if (key.startsWith('template[') && key.endsWith(']')) template.set(key.slice(9, -1), value);
  return template;
}

function required(params: URLSearchParams, name: string): string {
  const value = params.get(name);
  if (value === null || value.length === 0) throw new QueryError(`missing parameter "${name}"`);
  return value;
}

function optionalPositiveInteger(params: URLSearchParams, name: string): number | undefined {
  const text = params.get(name);
  if (text === null || text === '') return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1)
    throw new QueryError(`parameter "${name}" must be a positive integer, got "${text}"`);
  return value;
}

/** graphite-web matches filters with re.match: anchored at the start only. */
function optionalRegExp(params: URLSearchParams, name: string): SafeRegex | undefined {
  const text = params.get(name);
  if (text === null || text === '') return undefined;
  return compileAnchoredRegex(text, `parameter "${name}" ("${text}")`);
}

function tagNamesOf(canonical: string): string[] {
  const names = ['name'];
  for (const part of canonical.split(';').slice(1)) names.push(part.slice(0, part.indexOf('=')));
  return names;
}

/** graphite-web's treejson: branches, then leaves; ids keep the query's parent part, globs and all. */
function treeJson(query: string, nodes: readonly FoundNode[], wildcards: boolean): object[] {
  const parts = splitPathQuery(query);
  const basePath = parts.length > 1 ? `${parts.slice(0, -1).join('.')}.` : '';
  const entry = (text: string, leaf: boolean, branch: boolean) => ({
    text,
    id: basePath + text,
    leaf: leaf ? 1 : 0,
    expandable: branch ? 1 : 0,
    allowChildren: branch ? 1 : 0,
  });
  // A glob in a parent node can match one name under several parents: one entry per name, as graphite-web.
  const byName = new Map<string, { leaf: boolean; branch: boolean }>();
  for (const n of nodes) {
    const seen = byName.get(n.name);
    if (seen) {
      seen.leaf ||= n.leaf;
      seen.branch ||= n.branch;
    } else byName.set(n.name, { leaf: n.leaf, branch: n.branch });
  }
  const unique = [...byName].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const result: object[] = [];
  if (wildcards && unique.length > 1) {
    const anyBranch = unique.some(([, n]) => n.branch);
    result.push(entry('*', !anyBranch, anyBranch));
  }
  for (const [name, n] of unique) if (n.branch) result.push(entry(name, n.leaf, true));
  for (const [name, n] of unique) if (!n.branch) result.push(entry(name, true, false));
  return result;
}

/** graphite-web's pickle_nodes/msgpack_nodes: a leaf is readable over the whole retention. */
function remoteNodes(nodes: readonly FoundNode[], startOf: (path: string) => number, end: number): WireValue {
  return nodes.map((n) => {
    const info: { [key: string]: WireValue } = { path: n.path, is_leaf: n.leaf };
    if (n.leaf) info.intervals = [[new WireInt(startOf(n.path)), new WireInt(end)]];
    return info;
  });
}

function completerJson(nodes: readonly FoundNode[], wildcards: boolean): object {
  const metrics: object[] = nodes.map((n) => ({
    path: n.branch ? `${n.path}.` : n.path,
    name: n.name,
    is_leaf: n.branch ? '0' : '1',
  }));
  if (wildcards && nodes.length > 1) metrics.push({ name: '*' });
  return { metrics };
}

function sendText(res: ServerResponse, contentType: string, text: string): void {
  res.writeHead(200, { 'content-type': `${contentType}; charset=utf-8`, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function sendBody(res: ServerResponse, answer: RenderBody): void {
  const { body } = answer;
  if (typeof body === 'string') return sendText(res, answer.contentType, body);
  const pieces = Buffer.isBuffer(body) ? [body] : body;
  let length = 0;
  for (const piece of pieces) length += piece.length;
  res.writeHead(200, { 'content-type': answer.contentType, 'content-length': length });
  res.cork();
  for (const piece of pieces) res.write(piece);
  res.end();
}

/** A series' own resolutions when rules give some series others than `times`. */
function retentionSource(rules: readonly RetentionRule[] | undefined): {
  retentionOf?: (name: string) => readonly Resolution[];
} {
  if (rules === undefined || !hasRetentionRules(rules)) return {};
  return { retentionOf: (name) => retentionFor(name, rules) };
}
