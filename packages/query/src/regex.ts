/**
 * Regular expressions from requests (seriesByTag's =~, /tags?filter=, aliasSub, grep, exclude) and compiled globs,
 * on core's linear-time engine (`compileSafeRegex`): a pattern RE2 cannot run is a 400.
 */
import { compileSafeRegex, type SafeRegex } from '@carillon/core';
import { QueryError } from './errors.js';

export type { SafeRegex } from '@carillon/core';

/** Compiles `pattern`; `where` (e.g. `tag expression "k=~("`) names it in the 400 for a pattern RE2 cannot run. */
export function compileRegex(pattern: string, where: string): SafeRegex {
  try {
    return compileSafeRegex(pattern);
  } catch (error) {
    throw new QueryError(`invalid regular expression in ${where}: ${(error as Error).message}`);
  }
}

/** re.match: anchored at the start only, as graphite-web matches tag regexes and /tags filters. */
export function compileAnchoredRegex(pattern: string, where: string): SafeRegex {
  compileRegex(pattern, where);
  return compileRegex(`^(?:${pattern})`, where);
}
