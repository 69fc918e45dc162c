/**
 * What the Graphite API asks of a series index: path globs, tag queries and tag listings. Asynchronous so that an
 * index kept in a database (the Cassandra path index) can answer as well as the in-memory SeriesIndex.
 */
import { QueryError } from './errors.js';
import type { BatchMatch } from './match-pool.js';
import type { FoundNode, SeriesIndex } from './series-index.js';
import type { TagExpression } from './tag-expression.js';

export interface SeriesFinder {
  /** Nodes matching a dotted glob, sorted by path; QueryError past `limit` nodes at any depth. */
  find(query: string, limit: number): Promise<FoundNode[]>;
  /** True when `name` (canonical) is a known series. */
  has(name: string): Promise<boolean>;
  /** Known series names, sorted; QueryError past `limit`. */
  names(limit: number): Promise<string[]>;
  /** Tagged series matching every expression, sorted; QueryError past `limit`. */
  findTagged(expressions: readonly TagExpression[], limit: number): Promise<string[]>;
  /** Tag names of tagged series (including `name`), sorted. */
  tagNames(): Promise<string[]>;
  /** Values of one tag with the number of series holding each, sorted by value. */
  tagValues(tag: string): Promise<{ value: string; count: number }[]>;
}

/** The in-memory SeriesIndex as a SeriesFinder; with `match`, globs and regexes are tested there (off-thread). */
export function indexFinder(index: SeriesIndex, match?: BatchMatch): SeriesFinder {
  return {
    find: (query, limit) => (match ? index.findWith(query, limit, match) : Promise.resolve(index.find(query, limit))),
    has: (name) => Promise.resolve(index.has(name)),
    names: (limit) => Promise.resolve(limitedSorted([...index.names()], limit)),
    findTagged: (expressions, limit) =>
      match ? index.findTaggedWith(expressions, limit, match) : Promise.resolve(index.findTagged(expressions, limit)),
    tagNames: () => Promise.resolve(index.tagNames()),
    tagValues: (tag) => Promise.resolve(index.tagValues(tag)),
  };
}

/**
 * Several finders answering as one: node and name sets are unioned, tag value counts summed (a series known to
 * two finders counts twice there; counts are a hint for autocomplete). Used to put the series this process has
 * seen but not yet flushed beside a store's index.
 */
export function unionFinder(finders: readonly SeriesFinder[]): SeriesFinder {
  if (finders.length === 1) return finders[0]!;
  return {
    async find(query, limit) {
      const byPath = new Map<string, FoundNode>();
      for (const nodes of await Promise.all(finders.map((f) => f.find(query, limit)))) {
        for (const node of nodes) {
          const known = byPath.get(node.path);
          if (known)
            byPath.set(node.path, { ...known, leaf: known.leaf || node.leaf, branch: known.branch || node.branch });
          else byPath.set(node.path, node);
        }
      }
      return [...byPath.values()].sort((a, b) => compare(a.path, b.path));
    },
    async has(name) {
      for (const finder of finders) if (await finder.has(name)) return true;
      return false;
    },
    async names(limit) {
      const all = await Promise.all(finders.map((f) => f.names(limit)));
      return limitedSorted([...new Set(all.flat())], limit);
    },
    async findTagged(expressions, limit) {
      const all = await Promise.all(finders.map((f) => f.findTagged(expressions, limit)));
      return limitedSorted([...new Set(all.flat())], limit);
    },
    async tagNames() {
      const all = await Promise.all(finders.map((f) => f.tagNames()));
      return [...new Set(all.flat())].sort(compare);
    },
    async tagValues(tag) {
      const counts = new Map<string, number>();
      for (const values of await Promise.all(finders.map((f) => f.tagValues(tag))))
        for (const { value, count } of values) counts.set(value, (counts.get(value) ?? 0) + count);
      return [...counts].map(([value, count]) => ({ value, count })).sort((a, b) => compare(a.value, b.value));
    },
  };
}

function limitedSorted(names: string[], limit: number): string[] {
  if (names.length > limit) throw new QueryError(`more than ${limit} series`);
  return names.sort(compare);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
