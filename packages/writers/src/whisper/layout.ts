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
