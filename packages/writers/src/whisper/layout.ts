/**
 * Where a series lives under the data directory, exactly as carbon lays out whisper files, so Graphite's own tools
 * and graphite-web find them: `a.b.c` → `a/b/c.wsp`; a tagged series (`path;k=v;...`) → `_tagged/<h[0:3]>/<h[3:6]>/
 * <name with '.' as '_DOT_'>.wsp` where h is the hex sha256 of the canonical name (carbon's TaggedSeries.encode).
 */
import { createHash } from 'node:crypto';
import { sep } from 'node:path';

export const WHISPER_EXTENSION = '.wsp';
const TAGGED_DIR = '_tagged';

/**
 * The file path of `canonical`, relative to the data directory, or `null` when the name cannot be a file: a tag
 * value holding `/` would escape into a directory of its own (paths cannot hold `/`, core refuses it there).
 */
export function whisperRelativePath(canonical: string): string | null {
  if (canonical.includes(';')) {
    if (canonical.includes('/') || canonical.includes('\0')) return null;
    const hash = createHash('sha256').update(canonical, 'utf8').digest('hex');
    return (
      [TAGGED_DIR, hash.slice(0, 3), hash.slice(3, 6), canonical.replaceAll('.', '_DOT_')].join(sep) + WHISPER_EXTENSION
    );
  }
  if (canonical.length === 0 || canonical.includes('/') || canonical.includes('\0')) return null;
  return canonical.split('.').join(sep) + WHISPER_EXTENSION;
}

/**
 * Where carbon puts a tagged series with its default `TAG_HASH_FILENAMES = True`: named by the hash alone,
 * `_tagged/<h[0:3]>/<h[3:6]>/<h>.wsp`. carillon names the files it creates readably (as carbon with the setting
 * off), and writes and reads a carbon tree's hash-named file where one exists (graphite-web looks for both).
 */
export function hashNamedRelativePath(canonical: string): string | null {
  if (!canonical.includes(';')) return null;
  const hash = createHash('sha256').update(canonical, 'utf8').digest('hex');
  return [TAGGED_DIR, hash.slice(0, 3), hash.slice(3, 6), hash].join(sep) + WHISPER_EXTENSION;
}

/** A hash-named tagged file (see hashNamedRelativePath): its series' name cannot be read from its path. */
export function isHashNamedFile(relativePath: string): boolean {
  const parts = relativePath.split(sep);
  if (parts.length !== 4 || parts[0] !== TAGGED_DIR) return false;
  const hash = parts[3]!.slice(0, -WHISPER_EXTENSION.length);
  return (
    parts[3]!.endsWith(WHISPER_EXTENSION) &&
    /^[0-9a-f]{64}$/.test(hash) &&
    parts[1] === hash.slice(0, 3) &&
    parts[2] === hash.slice(3, 6)
  );
}

/**
 * The canonical name of the file at `relativePath` (carbon's TaggedSeries.decode), or `null` for a file that is not
 * a series (not `.wsp`). A literal `_DOT_` in a tagged name decodes as `.`: carbon's encoding cannot tell them apart.
 */
export function canonicalFromRelativePath(relativePath: string): string | null {
  if (!relativePath.endsWith(WHISPER_EXTENSION)) return null;
  const parts = relativePath.slice(0, -WHISPER_EXTENSION.length).split(sep);
  if (parts.some((part) => part.length === 0)) return null;
  if (parts[0] === TAGGED_DIR) {
    if (parts.length !== 4) return null;
    return parts[3]!.replaceAll('_DOT_', '.');
  }
  return parts.join('.');
}
