import { CounterChild, NameTable, splitCanonical, type MetricsRegistry } from '@carillon/core';
import { QueryError } from './errors.js';
import { compilePathGlob, splitPathQuery } from './glob.js';
import type { BatchMatch } from './match-pool.js';
import { seriesTags } from './series-tags.js';
import type { TagExpression } from './tag-expression.js';

/** One node that a `/metrics/find` query matched. A node can be both a leaf (a series) and a branch. */
export interface FoundNode {
  /** Full dotted path. */
  path: string;
  /** Last node of the path. */
  name: string;
  leaf: boolean;
  branch: boolean;
}

export interface SeriesIndexOptions {
  /** Names beyond this many are refused (and counted), keeping the index's memory bounded. */
  maxSeries?: number;
  /** Estimated bytes of the names held (see nameCost); a name past it is refused (and counted). Default unbounded. */
  maxBytes?: number;
  /** Registers `query_index_series` and `query_index_refused_total` when given. */
  metrics?: MetricsRegistry;
}

export const DEFAULT_MAX_SERIES = 1_000_000;

/** At most this many distinct path parts, each this short, are shared: about 5 MiB where no part repeats. */
const MAX_SHARED_PARTS = 65_536;
const MAX_SHARED_PART_LENGTH = 32;

/**
 * Up to this many childless children of a node are kept in an array, searched end to end: 8 bytes a child where
 * a Set entry costs about 40, and a scan of a few dozen short strings costs about what a hash lookup does. More
 * go into a Set.
 */
const MAX_LEAF_ARRAY = 64;

class PathNode {
  /** Children with children of their own (each may be a series too). */
  children: Map<string, PathNode> | undefined;
  /** Children that are series without children (most of them), in order of arrival: see MAX_LEAF_ARRAY. */
  leaves: string[] | Set<string> | undefined;
  leaf = false;

  child(part: string): PathNode | undefined {
    return this.children?.get(part) ?? (this.hasLeaf(part) ? LEAF : undefined);
  }

  hasLeaf(part: string): boolean {
    const leaves = this.leaves;
    if (leaves === undefined) return false;
    return Array.isArray(leaves) ? leaves.includes(part) : leaves.has(part);
  }

  addLeaf(part: string): void {
    const leaves = this.leaves;
    if (leaves === undefined) this.leaves = [part];
    else if (!Array.isArray(leaves)) leaves.add(part);
    else if (leaves.length < MAX_LEAF_ARRAY) leaves.push(part);
    else this.leaves = new Set(leaves).add(part);
  }

  /** Drops a leaf child (it is getting children: a node of its own); a node without leaves holds no collection. */
  removeLeaf(part: string): void {
    const leaves = this.leaves!;
    if (Array.isArray(leaves)) leaves.splice(leaves.indexOf(part), 1);
    else leaves.delete(part);
    if ((Array.isArray(leaves) ? leaves.length : leaves.size) === 0) this.leaves = undefined;
  }

  *entries(): IterableIterator<[string, PathNode]> {
    if (this.children) yield* this.children;
    if (this.leaves) for (const part of this.leaves) yield [part, LEAF];
  }

  get branch(): boolean {
    return this.children !== undefined || this.leaves !== undefined;
  }
}

/** What a childless series child of a node stands for while a query walks the tree. */
const LEAF: PathNode = Object.freeze(Object.assign(new PathNode(), { leaf: true }));

/**
 * Every known canonical series name: untagged paths in a tree of path nodes (for find and globs), tagged series in
 * an inverted index tag → value → series ids (for seriesByTag and tag autocomplete), as Graphite keeps them apart.
 * An untagged name is kept only as its path in the tree; a tagged one once, as UTF-8 in a NameTable, made a string
 * when an answer lists it.
 */
export class SeriesIndex {
  readonly maxSeries: number;
  readonly maxBytes: number;
  /** Estimated bytes held: the names and the tree or tag entries they added. */
  private heldBytes = 0;
  /** Tagged series names; their ids fill the tag index. */
  private readonly tagged = new NameTable();
  /** Untagged series: the tree's leaves. */
  private paths = 0;
  private readonly root = new PathNode();
  private readonly byTag = new Map<string, Map<string, Set<number>>>();
  /** Path parts kept once: most repeat across series (hosts, metrics, instances). Bounded: see internPart. */
  private readonly parts = new Map<string, string>();
  private readonly refusedCounter: CounterChild;

  constructor(options: SeriesIndexOptions = {}) {
    this.maxSeries = options.maxSeries ?? DEFAULT_MAX_SERIES;
    this.maxBytes = options.maxBytes ?? Infinity;
    if (!Number.isInteger(this.maxSeries) || this.maxSeries < 1)
      throw new Error('maxSeries must be a positive integer');
    this.refusedCounter = options.metrics
      ? options.metrics
          .counter(
            'query_index_refused_total',
            'Series names not indexed because the index was full (index.max_series or index.max_bytes)',
          )
          .labels()
      : new CounterChild();
    options.metrics?.gauge('query_index_series', 'Series names in the query index', [], (gauge) =>
      gauge.set(this.size),
    );
    options.metrics?.gauge(
      'query_index_bytes',
      'Estimated bytes of the query index (bounded by index.max_bytes)',
      [],
      (gauge) => gauge.set(this.heldBytes),
    );
  }

  /** Adds a canonical name (a known one is only looked up). False when the index is full and refused it. */
  add(name: string): boolean {
    const tagged = name.includes(';');
    if (tagged ? this.tagged.find(name) >= 0 : this.hasPath(name)) return true;
    const cost = indexCost(name, tagged ? this.tagged.foundByteLength : 0);
    if (this.size >= this.maxSeries || this.heldBytes + cost > this.maxBytes) {
      this.refusedCounter.inc();
      return false;
    }
    this.heldBytes += cost;
    if (tagged) this.addTagged(name, this.tagged.insertFound());
    else {
      this.addPath(name);
      this.paths++;
    }
    return true;
  }

  has(name: string): boolean {
    return name.includes(';') ? this.tagged.find(name) >= 0 : this.hasPath(name);
  }

  get size(): number {
    return this.paths + this.tagged.size;
  }

  /** Estimated bytes held (index.max_bytes bounds it). */
  get bytes(): number {
    return this.heldBytes;
  }

  /** Names refused because the index was full. */
  get refused(): number {
    return this.refusedCounter.value;
  }

  /** Every name: the tree's series, depth first, then the tagged ones. */
  *names(): IterableIterator<string> {
    const stack: { path: string; node: PathNode }[] = [{ path: '', node: this.root }];
    for (let top = stack.pop(); top !== undefined; top = stack.pop())
      for (const [part, child] of top.node.entries()) {
        const path = top.node === this.root ? part : `${top.path}.${part}`;
        if (child.leaf) yield path;
        if (child.branch) stack.push({ path, node: child });
      }
    yield* this.tagged.names();
  }

  private hasPath(path: string): boolean {
    let node: PathNode | undefined = this.root;
    let from = 0;
    for (;;) {
      const dot = path.indexOf('.', from);
      node = node.child(dot < 0 ? path.slice(from) : path.slice(from, dot));
      if (node === undefined) return false;
      if (dot < 0) return node.leaf;
      from = dot + 1;
    }
  }

  private addPath(path: string): void {
    const parts = path.split('.');
    let node = this.root;
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]!;
      const last = i === parts.length - 1;
      const child = node.child(part);
      if (child === LEAF) {
        if (last) return;
        // A childless series that now gets children: a node of its own from here on.
        node.removeLeaf(part);
        const own = new PathNode();
        own.leaf = true;
        (node.children ??= new Map()).set(this.internPart(part), own);
        node = own;
      } else if (child !== undefined) node = child;
      else if (last) {
        node.addLeaf(this.internPart(part));
        return;
      } else {
        const added = new PathNode();
        (node.children ??= new Map()).set(this.internPart(part), added);
        node = added;
      }
    }
    node.leaf = true;
  }

  /** `part`, or the equal string already held; a part is kept for sharing while the pool has room. */
  private internPart(part: string): string {
    const held = this.parts.get(part);
    if (held !== undefined) return held;
    if (this.parts.size < MAX_SHARED_PARTS && part.length <= MAX_SHARED_PART_LENGTH) this.parts.set(part, part);
    return part;
  }

  private addTagged(name: string, id: number): void {
    const { path, tags } = splitCanonical(name);
    this.addTagValue('name', path, id);
    for (const [tag, value] of tags) this.addTagValue(tag, value, id);
  }

  private addTagValue(tag: string, value: string, id: number): void {
    let values = this.byTag.get(tag);
    if (!values) {
      values = new Map();
      this.byTag.set(tag, values);
    }
    let ids = values.get(value);
    if (!ids) {
      ids = new Set();
      values.set(value, ids);
    }
    ids.add(id);
  }

  /**
   * Nodes matching a dotted glob query, sorted by path. Throws QueryError when more than `limit` nodes would be
   * visited at any depth, so a query like `*.*.*.*` cannot build an unbounded answer.
   */
  find(query: string, limit: number): FoundNode[] {
    const matchers = compilePathGlob(query);
    let frontier: { path: string; name: string; node: PathNode }[] = [{ path: '', name: '', node: this.root }];
    for (const matcher of matchers) {
      const next: typeof frontier = [];
      for (const { path, node } of frontier) {
        if (!node.branch) continue;
        if (matcher.literal !== null) {
          const child = node.child(matcher.literal);
          if (child)
            next.push({
              path: path ? `${path}.${matcher.literal}` : matcher.literal,
              name: matcher.literal,
              node: child,
            });
        } else {
          for (const [name, child] of node.entries()) {
            if (!matcher.test(name)) continue;
            next.push({ path: path ? `${path}.${name}` : name, name, node: child });
          }
        }
        if (next.length > limit) throw new QueryError(`query "${query}" matches more than ${limit} nodes`);
      }
      frontier = next;
    }
    return frontier
      .map(({ path, name, node }) => ({ path, name, leaf: node.leaf, branch: node.branch }))
      .sort((a, b) => compare(a.path, b.path));
  }

  /** find, with the globs tested by `match` (off this thread, in a MatchPool): the same answer. */
  async findWith(query: string, limit: number, match: BatchMatch): Promise<FoundNode[]> {
    const matchers = compilePathGlob(query);
    const parts = splitPathQuery(query);
    let frontier: { path: string; name: string; node: PathNode }[] = [{ path: '', name: '', node: this.root }];
    for (let level = 0; level < matchers.length; level++) {
      const matcher = matchers[level]!;
      const next: typeof frontier = [];
      if (matcher.literal !== null) {
        const literal = matcher.literal;
        for (const { path, node } of frontier) {
          const child = node.child(literal);
          if (child) next.push({ path: path ? `${path}.${literal}` : literal, name: literal, node: child });
        }
      } else {
        const candidates: typeof frontier = [];
        for (const { path, node } of frontier)
          for (const [name, child] of node.entries())
            candidates.push({ path: path ? `${path}.${name}` : name, name, node: child });
        const mask = await match(
          'glob',
          parts[level]!,
          candidates.map((c) => c.name),
        );
        for (let i = 0; i < candidates.length; i++) if (mask[i]) next.push(candidates[i]!);
      }
      if (next.length > limit) throw new QueryError(`query "${query}" matches more than ${limit} nodes`);
      frontier = next;
    }
    return frontier
      .map(({ path, name, node }) => ({ path, name, leaf: node.leaf, branch: node.branch }))
      .sort((a, b) => compare(a.path, b.path));
  }

  /**
   * findTagged, with each regex tested by `match` (off this thread) once over the tag's distinct values; the
   * query then runs on the set of values that matched.
   */
  async findTaggedWith(expressions: readonly TagExpression[], limit: number, match: BatchMatch): Promise<string[]> {
    const resolved = await Promise.all(
      expressions.map(async (e): Promise<TagExpression> => {
        if (e.operator !== '=~' && e.operator !== '!=~') return e;
        const values = [...(this.byTag.get(e.tag)?.keys() ?? []), ''];
        const mask = await match('anchored', e.value, values);
        const matching = new Set(values.filter((_, i) => mask[i] === 1));
        const positive = e.operator === '=~';
        // a value first seen while the match ran (a series that arrived meanwhile) counts as not matching
        return { ...e, test: (v: string) => matching.has(v) === positive };
      }),
    );
    return this.findTagged(resolved, limit);
  }

  /** Tagged series matching every expression, sorted. Throws QueryError beyond `limit` series. */
  findTagged(expressions: readonly TagExpression[], limit: number): string[] {
    const candidates = this.candidates(expressions);
    const result: string[] = [];
    for (const id of candidates) {
      const name = this.tagged.nameOf(id);
      const tags = seriesTags(name);
      if (!expressions.every((e) => e.test(tags[e.tag] ?? ''))) continue;
      result.push(name);
      if (result.length > limit)
        throw new QueryError(
          `tag query ${expressions.map((e) => `'${e.text}'`).join(', ')} matches more than ${limit} series`,
        );
    }
    return result.sort(compare);
  }

  /** The smallest set of series ids that some value-requiring expression allows; the others filter it. */
  private candidates(expressions: readonly TagExpression[]): Iterable<number> {
    let best: Set<number>[] | undefined;
    let bestSize = Infinity;
    for (const expression of expressions) {
      if (!expression.requiresValue) continue;
      const values = this.byTag.get(expression.tag);
      const sets: Set<number>[] = [];
      let size = 0;
      if (values) {
        if (expression.operator === '=') {
          const names = values.get(expression.value);
          if (names) sets.push(names);
        } else {
          for (const [value, names] of values) if (expression.test(value)) sets.push(names);
        }
        for (const set of sets) size += set.size;
      }
      if (size < bestSize) {
        best = sets;
        bestSize = size;
      }
    }
    if (!best) return [];
    if (best.length === 1) return best[0]!;
    const union = new Set<number>();
    for (const set of best) for (const id of set) union.add(id);
    return union;
  }

  /** Tag names of tagged series (including `name`), sorted. */
  tagNames(): string[] {
    return [...this.byTag.keys()].sort(compare);
  }

  /** Values of one tag with the number of series holding each, sorted by value. */
  tagValues(tag: string): { value: string; count: number }[] {
    const values = this.byTag.get(tag);
    if (!values) return [];
    return [...values]
      .map(([value, names]) => ({ value, count: names.size }))
      .sort((a, b) => compare(a.value, b.value));
  }
}

/**
 * What one name is taken to cost: a tagged name's UTF-8 bytes (`tableBytes`) twice and its id's slots in the
 * NameTable, its characters as the tree's or tag maps' parts (two bytes each at worst),
 * and an entry per node or tag. It errs high so the budget holds against the heap.
 */
function indexCost(name: string, tableBytes: number): number {
  let entries = 1;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c === 0x2e || c === 0x3b) entries++;
  }
  return (tableBytes > 0 ? 2 * tableBytes + 40 : 0) + 2 * name.length + 112 * entries;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
