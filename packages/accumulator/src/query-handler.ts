/**
 * The accumulator's answers to a front reading the cluster (the Query gRPC service): the same finder and the same
 * stored-plus-pending reads its own Graphite API uses, so a relay's merged answer equals what each member holds.
 */
import type { AggregationRule, PendingSource, Resolution, SeriesReader } from '@carillon/core';
import { fetchSeriesValues, parseTagQuery, QueryError, type GraphiteApi, type SeriesFinder } from '@carillon/query';
import type { QueryHandler } from '@carillon/transport';

export interface QuerySources {
  finder: SeriesFinder;
  reader: SeriesReader;
  pending: PendingSource;
  resolutions: readonly Resolution[];
  aggregationRules: readonly AggregationRule[];
  /** Reads many series in a render worker, off the ingest thread (the Graphite API's, with a whisper store). */
  fetchMany?: GraphiteApi['fetchMany'];
}

/** Series read at once for one Fetch: the store's reads in flight stay bounded. */
const FETCH_CONCURRENCY = 32;

export function queryHandler(sources: QuerySources): QueryHandler {
  const { finder } = sources;
  return {
    find: (query, limit) => finder.find(query, limit),
    findTagged: (expressions, limit) => finder.findTagged(parseTagQuery(expressions), limit),
    names: (limit) => finder.names(limit),
    tagNames: () => finder.tagNames(),
    has: (names) => Promise.all(names.map((name) => finder.has(name))),
    async fetch(names, step, from, until) {
      const resolution = sources.resolutions.find((r) => r.step === step);
      if (!resolution) throw new QueryError(`no resolution of ${step} s here: every program must share "times"`);
      if (from % step !== 0 || until % step !== 0 || until < from)
        throw new QueryError(`fetch range [${from}, ${until}) is not aligned to ${step} s`);
      const window = { resolution, start: from, end: until, count: (until - from) / step };
      if (sources.fetchMany) return sources.fetchMany(names, window);
      const out: (number | null)[][] = [];
      for (let i = 0; i < names.length; i += FETCH_CONCURRENCY) {
        const chunk = names.slice(i, i + FETCH_CONCURRENCY);
        out.push(...(await Promise.all(chunk.map((name) => fetchSeriesValues(name, window, sources)))));
      }
      return out;
    },
    isRequestError: (error) => error instanceof QueryError,
  };
}
