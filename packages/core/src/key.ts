/**
 * Metric keys: a Graphite path plus optional tags. The canonical name is `path;k1=v1;k2=v2` with tags sorted by
 * key and the last duplicate winning (Graphite's own rule). An untagged name is its path.
 */

export type Tag = readonly [name: string, value: string];

export interface MetricKey {
  path: string;
  /** Sorted by tag name, unique names. Empty for an untagged key. */
  tags: readonly Tag[];
  /** `path` or `path;k1=v1;...` */
  canonical: string;
}

/** Why a metric name was refused. */
export type KeyProblem = 'invalid_path' | 'invalid_tag';

/**
 * A path node may hold any printable character but `;` (tag separator), `/` and NUL (they would escape a
 * file layout) and whitespace (the line separator); nodes may not be empty (`a..b`, `.a`, `a.`).
 */
export function isValidPath(path: string): boolean {
  if (path.length === 0) return false;
  let nodeLength = 0;
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c === 0x2e /* . */) {
      if (nodeLength === 0) return false;
      nodeLength = 0;
      continue;
    }
    if (c <= 0x20 || c === 0x7f || c === 0x3b /* ; */ || c === 0x2f /* / */) return false;
    nodeLength++;
  }
  return nodeLength > 0;
}

/** Graphite: a tag name is non-empty and has none of `;!^=`, nor whitespace. */
export function isValidTagName(name: string): boolean {
  if (name.length === 0) return false;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c <= 0x20 || c === 0x7f || c === 0x3b || c === 0x21 || c === 0x5e || c === 0x3d) return false;
  }
  return true;
}

/** Graphite: a tag value is non-empty, has no `;` nor whitespace, and does not start with `~`. */
export function isValidTagValue(value: string): boolean {
  if (value.length === 0 || value.charCodeAt(0) === 0x7e /* ~ */) return false;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c <= 0x20 || c === 0x7f || c === 0x3b) return false;
  }
  return true;
}

/**
 * Sorts tags by name with the last duplicate winning, validates them, and drops a `name` tag (in Graphite the
 * path is the name). Returns a problem instead of throwing: bad names are ordinary input on a metrics port.
 */
export function normalizeTags(tags: Iterable<Tag>): Tag[] | KeyProblem {
  const byName = new Map<string, string>();
  for (const [name, value] of tags) {
    if (!isValidTagName(name) || !isValidTagValue(value)) return 'invalid_tag';
    if (name === 'name') continue;
    byName.set(name, value);
  }
  return [...byName.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

export function canonicalName(path: string, tags: readonly Tag[]): string {
  if (tags.length === 0) return path;
  let name = path;
  for (const [tagName, value] of tags) name += `;${tagName}=${value}`;
  return name;
}

/** Parses a Graphite name `path` or `path;k=v;...` into its canonical key. */
export function parseMetricName(name: string): MetricKey | KeyProblem {
  const semicolon = name.indexOf(';');
  if (semicolon < 0) {
    return isValidPath(name) ? { path: name, tags: [], canonical: name } : 'invalid_path';
  }
  const path = name.slice(0, semicolon);
  if (!isValidPath(path)) return 'invalid_path';
  const raw: Tag[] = [];
  for (const part of name.slice(semicolon + 1).split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) return 'invalid_tag';
    raw.push([part.slice(0, eq), part.slice(eq + 1)]);
  }
  const tags = normalizeTags(raw);
  if (typeof tags === 'string') return tags;
  return { path, tags, canonical: canonicalName(path, tags) };
}

/** Splits a canonical name (already valid) back into path and tags without re-validating. */
export function splitCanonical(canonical: string): { path: string; tags: Tag[] } {
  const parts = canonical.split(';');
  const path = parts[0]!;
  const tags: Tag[] = [];
  for (let i = 1; i < parts.length; i++) {
    const part = parts[i]!;
    const eq = part.indexOf('=');
    tags.push([part.slice(0, eq), part.slice(eq + 1)]);
  }
  return { path, tags };
}

/** The value of `tag` in a canonical name (`name` is its path), or undefined when the name has no such tag. */
export function tagValueOf(canonical: string, tag: string): string | undefined {
  const parts = canonical.split(';');
  if (tag === 'name') return parts[0];
  for (let i = 1; i < parts.length; i++) {
    const part = parts[i]!;
    const eq = part.indexOf('=');
    if (part.slice(0, eq) === tag) return part.slice(eq + 1);
  }
  return undefined;
}
