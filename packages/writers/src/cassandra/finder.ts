/**
 * Find and tag queries answered from the Cassandra index tables. A glob expands level by level through the path
 * table — the children of `servers` are partition ('servers', 2) — reading one partition per frontier node (a
 * literal node reads one row). Glob compilation and the error for too-large answers are given by the caller (the
 * query package owns both), so this module needs only the driver.
 */
import { splitCanonical } from '@carillon/core';
import type { CassandraClient } from './client.js';
import { PATH_TABLE, SEGMENT_TABLE, TAG_TABLE, type CassandraOptions } from './options.js';
import { forEachBounded } from './retry.js';

export interface NodeMatcher {
  readonly literal: string | null;
  test(node: string): boolean;
}

export interface TagMatcher {
  tag: string;
  operator: string;
  value: string;
  requiresValue: boolean;
  test(value: string): boolean;
}

export interface FoundPathNode {
  path: string;
  name: string;
  leaf: boolean;
  branch: boolean;
}

export interface FinderDeps {
  compilePathGlob(query: string): NodeMatcher[];
  /** The error to throw when an answer would pass its limit (the API answers it with 400). */
  tooLarge(message: string): Error;
}

const PAGE = 5_000;
/** A depth with more distinct names than this is not worth reading from the segment table. */
const SEGMENT_SCAN_MAX = 1_000;
/** Up to this many matching names per parent, one-row lookups beat reading each parent's partition. */
const POINT_LOOKUPS_PER_PARENT = 8;

interface PathRow {
  path: string;
  leaf: boolean;
  branch: boolean;
}

export class CassandraFinder {
  private readonly ks: string;
  /** Statements by kind, so tests and operators can see which way a glob was expanded. */
  readonly reads = { partition: 0, row: 0, segment: 0 };

  constructor(
    private readonly client: CassandraClient,
    private readonly options: CassandraOptions,
    private readonly deps: FinderDeps,
  ) {
    this.ks = options.keyspace;
  }

  /** Every row of a query, page by page; `onRow` returns false to stop early. */
  private async each(
    query: string,
    params: unknown[],
    onRow: (row: { get(column: string): unknown }) => void,
  ): Promise<void> {
    let pageState: string | undefined;
    do {
      const result = await this.client.execute(query, params, { prepare: true, fetchSize: PAGE, pageState });
      for (const row of result.rows) onRow(row);
      pageState = result.pageState ?? undefined;
    } while (pageState);
  }

  private async children(parent: string, length: number, literal: string | null): Promise<PathRow[]> {
    const rows: PathRow[] = [];
    const columns = 'path, has_data, has_children';
    const add = (row: { get(column: string): unknown }): void => {
      rows.push({
        path: row.get('path') as string,
        leaf: row.get('has_data') === true,
        branch: row.get('has_children') === true,
      });
    };
    if (literal !== null) {
      this.reads.row++;
      const path = parent === '' ? literal : `${parent}.${literal}`;
      await this.each(
        `SELECT ${columns} FROM ${this.ks}.${PATH_TABLE} WHERE segment = ? AND length = ? AND path = ?`,
        [parent, length, path],
        add,
      );
    } else {
      this.reads.partition++;
      await this.each(
        `SELECT ${columns} FROM ${this.ks}.${PATH_TABLE} WHERE segment = ? AND length = ?`,
        [parent, length],
        add,
      );
    }
    return rows;
  }

  /**
   * The node names at depth `pos` that `matcher` accepts, from the segment table; undefined when the depth holds
   * more than SEGMENT_SCAN_MAX names (then reading the parents' partitions is cheaper).
   */
  private async segmentsMatching(pos: number, matcher: NodeMatcher): Promise<string[] | undefined> {
    this.reads.segment++;
    const result = await this.client.execute(
      `SELECT segment FROM ${this.ks}.${SEGMENT_TABLE} WHERE pos = ? LIMIT ${SEGMENT_SCAN_MAX + 1}`,
      [pos],
      { prepare: true },
    );
    if (result.rows.length > SEGMENT_SCAN_MAX) return undefined;
    return result.rows.map((row) => row.get('segment') as string).filter((name) => matcher.test(name));
  }

  /**
   * Expands a glob level by level. A literal node is one row per parent. A wildcard over several parents first asks
   * the segment table which names exist at that depth: when only a few match, each (parent, name) is a one-row
   * lookup; otherwise each parent's partition is read and filtered.
   */
  async find(query: string, limit: number): Promise<FoundPathNode[]> {
    const matchers = this.deps.compilePathGlob(query);
    let frontier: PathRow[] = [{ path: '', leaf: false, branch: true }];
    for (let level = 0; level < matchers.length; level++) {
      const matcher = matchers[level]!;
      const length = level + 1;
      const next: PathRow[] = [];
      const take = (row: PathRow): void => {
        next.push(row);
        if (next.length > limit) throw this.deps.tooLarge(`query "${query}" matches more than ${limit} nodes`);
      };
      const parents = frontier.filter((node) => node.branch).map((node) => node.path);
      let names: string[] | undefined = matcher.literal === null ? undefined : [matcher.literal];
      if (names === undefined && parents.length > 1) {
        const found = await this.segmentsMatching(length, matcher);
        if (found !== undefined && found.length <= POINT_LOOKUPS_PER_PARENT) names = found;
      }
      if (names !== undefined) {
        const lookups = parents.flatMap((parent) => names.map((name) => ({ parent, name })));
        await forEachBounded(lookups.length, this.options.maxInFlight, async (i) => {
          const { parent, name } = lookups[i]!;
          for (const row of await this.children(parent, length, name)) take(row);
        });
      } else {
        await forEachBounded(parents.length, this.options.maxInFlight, async (i) => {
          for (const row of await this.children(parents[i]!, length, null))
            if (matcher.test(lastNode(row.path))) take(row);
        });
      }
      frontier = next;
    }
    return frontier
      .map((row) => ({ path: row.path, name: lastNode(row.path), leaf: row.leaf, branch: row.branch }))
      .sort((a, b) => compare(a.path, b.path));
  }

  async has(name: string): Promise<boolean> {
    if (name.includes(';')) {
      const { path } = splitCanonical(name);
      let found = false;
      await this.each(
        `SELECT name FROM ${this.ks}.${TAG_TABLE} WHERE tag = 'name' AND value = ? AND name = ?`,
        [path, name],
        () => {
          found = true;
        },
      );
      return found;
    }
    const dot = name.lastIndexOf('.');
    const parent = dot < 0 ? '' : name.slice(0, dot);
    const rows = await this.children(parent, name.split('.').length, lastNode(name));
    return rows.some((row) => row.leaf);
  }

  async names(limit: number): Promise<string[]> {
    const names: string[] = [];
    const add = (name: string): void => {
      names.push(name);
      if (names.length > limit) throw this.deps.tooLarge(`more than ${limit} series`);
    };
    // A full scan: /metrics/index.json is the one caller, and it is bounded by the limit.
    await this.each(`SELECT path, has_data FROM ${this.ks}.${PATH_TABLE}`, [], (row) => {
      if (row.get('has_data') === true) add(row.get('path') as string);
    });
    await this.each(`SELECT name FROM ${this.ks}.${TAG_TABLE} WHERE tag = 'name'`, [], (row) =>
      add(row.get('name') as string),
    );
    return names.sort(compare);
  }

  async findTagged(expressions: readonly TagMatcher[], limit: number): Promise<string[]> {
    const selecting =
      expressions.find((e) => e.requiresValue && e.operator === '=') ?? expressions.find((e) => e.requiresValue);
    if (!selecting) return [];
    const candidates = new Set<string>();
    if (selecting.operator === '=') {
      await this.each(
        `SELECT name FROM ${this.ks}.${TAG_TABLE} WHERE tag = ? AND value = ?`,
        [selecting.tag, selecting.value],
        (row) => candidates.add(row.get('name') as string),
      );
    } else {
      await this.each(`SELECT value, name FROM ${this.ks}.${TAG_TABLE} WHERE tag = ?`, [selecting.tag], (row) => {
        if (selecting.test(row.get('value') as string)) candidates.add(row.get('name') as string);
      });
    }
    const result: string[] = [];
    for (const name of candidates) {
      const tags = tagsOf(name);
      if (!expressions.every((e) => e.test(tags[e.tag] ?? ''))) continue;
      result.push(name);
      if (result.length > limit) throw this.deps.tooLarge(`tag query matches more than ${limit} series`);
    }
    return result.sort(compare);
  }

  async tagNames(): Promise<string[]> {
    const names: string[] = [];
    await this.each(`SELECT DISTINCT tag FROM ${this.ks}.${TAG_TABLE}`, [], (row) =>
      names.push(row.get('tag') as string),
    );
    return names.sort(compare);
  }

  async tagValues(tag: string): Promise<{ value: string; count: number }[]> {
    const counts = new Map<string, number>();
    await this.each(`SELECT value FROM ${this.ks}.${TAG_TABLE} WHERE tag = ?`, [tag], (row) => {
      const value = row.get('value') as string;
      counts.set(value, (counts.get(value) ?? 0) + 1);
    });
    return [...counts].map(([value, count]) => ({ value, count })).sort((a, b) => compare(a.value, b.value));
  }
}

function tagsOf(name: string): Record<string, string> {
  const { path, tags } = splitCanonical(name);
  const record: Record<string, string> = { name: path };
  for (const [tag, value] of tags) record[tag] = value;
  return record;
}

function lastNode(path: string): string {
  return path.slice(path.lastIndexOf('.') + 1);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
