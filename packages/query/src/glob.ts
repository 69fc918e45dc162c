import { QueryError } from './errors.js';
import { compileRegex, type SafeRegex } from './regex.js';

/**
 * Graphite globs, one path node at a time: `*`, `?`, `[a-z]`, `[!abc]`, `{a,b}` (nestable). Each pattern is
 * compiled once into a matcher; a pattern with no wildcard becomes a literal so the tree can look it up by key.
 */
export interface NodeMatcher {
  /** The exact node name when the pattern has no wildcard, else null. */
  readonly literal: string | null;
  test(node: string): boolean;
}

const GLOB_CHARS = /[*?[{]/;

export function hasGlob(text: string): boolean {
  return GLOB_CHARS.test(text);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** Index of the `]` closing the class opened at `open`, fnmatch-style (a `]` right after `[` or `[!` is literal). */
function classEnd(pattern: string, open: number): number {
  let i = open + 1;
  if (pattern[i] === '!') i++;
  if (pattern[i] === ']') i++;
  const end = pattern.indexOf(']', i);
  return end;
}

/** Index of the `}` closing the brace opened at `open`, honouring nesting; -1 when unclosed. */
function braceEnd(pattern: string, open: number): number {
  let depth = 0;
  for (let i = open; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '[') {
      const end = classEnd(pattern, i);
      if (end > 0) i = end;
    } else if (c === '{') depth++;
    else if (c === '}' && --depth === 0) return i;
  }
  return -1;
}

/** Splits the inside of a brace at its top-level commas. */
function braceAlternatives(inner: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < inner.length; i++) {
    const c = inner[i];
    if (c === '{') depth++;
    else if (c === '}') depth--;
    else if (c === ',' && depth === 0) {
      parts.push(inner.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(inner.slice(start));
  return parts;
}

function globSource(pattern: string): string {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') source += '.*';
    else if (c === '?') source += '.';
    else if (c === '[') {
      const end = classEnd(pattern, i);
      if (end < 0) {
        source += '\\[';
        continue;
      }
      let body = pattern.slice(i + 1, end);
      const negated = body.startsWith('!');
      if (negated) body = body.slice(1);
      source += `[${negated ? '^' : ''}${body.replace(/[\\^[]/g, '\\$&')}]`;
      i = end;
    } else if (c === '{') {
      const end = braceEnd(pattern, i);
      if (end < 0) {
        source += '\\{';
        continue;
      }
      source += `(?:${braceAlternatives(pattern.slice(i + 1, end))
        .map(globSource)
        .join('|')})`;
      i = end;
    } else source += escapeRegExp(c);
  }
  return source;
}

/** `*`s outside character classes (where `*` is a literal). */
function countStars(pattern: string): number {
  let stars = 0;
  for (let i = 0; i < pattern.length; i++) {
    if (pattern[i] === '[') {
      const end = classEnd(pattern, i);
      if (end > 0) i = end;
    } else if (pattern[i] === '*') stars++;
  }
  return stars;
}

function nativeTester(source: string, pattern: string): (node: string) => boolean {
  try {
    const regexp = new RegExp(source);
    return (node) => regexp.test(node);
  } catch (error) {
    throw new QueryError(`invalid glob "${pattern}": ${(error as Error).message}`);
  }
}

const MATCH_ALL: NodeMatcher = { literal: null, test: () => true };

/** Compiles one node's glob. Throws QueryError for a pattern that is not a valid glob (e.g. `[z-a]`). */
export function compileNodeGlob(pattern: string): NodeMatcher {
  if (!hasGlob(pattern)) return { literal: pattern, test: (node) => node === pattern };
  if (pattern === '*') return MATCH_ALL;
  // RE2: a glob like *a*a*a*b over a long name is matched in linear time, never by backtracking
  const source = `^${globSource(pattern)}$`;
  // Backtracking blows up with two or more stars, or with brace alternatives that can split a name several ways
  // ({a,aa}{a,aa}...); a glob with neither (one star, ?, classes) backtracks at most once per character on the
  // native engine, which is several times faster than RE2JS for the globs dashboards use.
  if (countStars(pattern) <= 1 && !pattern.includes('{')) return { literal: null, test: nativeTester(source, pattern) };
  let regexp: SafeRegex;
  try {
    regexp = compileRegex(source, 'glob');
  } catch (error) {
    throw new QueryError(`invalid glob "${pattern}": ${(error as Error).message}`);
  }
  return { literal: null, test: (node) => regexp.test(node) };
}

/** Splits a path query at the dots outside braces and brackets. */
export function splitPathQuery(query: string): string[] {
  const nodes: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < query.length; i++) {
    const c = query[i];
    if (c === '{' || c === '[') depth++;
    else if ((c === '}' || c === ']') && depth > 0) depth--;
    else if (c === '.' && depth === 0) {
      nodes.push(query.slice(start, i));
      start = i + 1;
    }
  }
  nodes.push(query.slice(start));
  return nodes;
}

/** One matcher per node of a dotted path query such as `servers.web{1,2}.cpu.*`. */
export function compilePathGlob(query: string): NodeMatcher[] {
  if (query.length === 0) throw new QueryError('empty metric query');
  return splitPathQuery(query).map((node) => {
    if (node.length === 0) throw new QueryError(`metric query "${query}" has an empty node`);
    return compileNodeGlob(node);
  });
}
