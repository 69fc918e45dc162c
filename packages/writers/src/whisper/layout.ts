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
  // A tagged file's name holds `;`, which no path node can: so `_tagged/abc/def/x.wsp` is the untagged series
  // `_tagged.abc.def.x`, not the tagged `x`.
  if (parts[0] === TAGGED_DIR && parts.length === 4 && parts[3]!.includes(';'))
    return parts[3]!.replaceAll('_DOT_', '.');
  return parts.join('.');
}

/** NAME_MAX of Linux file systems (ext4, xfs): bytes of one directory entry. */
const MAX_NODE_BYTES = 255;
/** PATH_MAX: bytes of a path handed to the kernel. */
const MAX_PATH_BYTES = 4096;
/** What a file name gains on disk beside `.wsp`: the creation temp (`.creating-<pid>-<8>`) or `.corrupt-<ms>`. */
const FILE_SUFFIX_ROOM = 32;

/**
 * Whether `canonical` can be a whisper file under a data directory of `dataDirBytes` bytes: every directory node
 * at most 255 bytes, the file name with `.wsp` and its temp suffix too, the absolute path within 4 096 bytes, and
 * no `/` or NUL anywhere (a tagged name's file name is the whole name with `.` as `_DOT_`). Checked when a line is
 * parsed, so a name no file can hold is refused there rather than accepted and dropped at write time.
 */
export function isStorableWhisperName(canonical: string, dataDirBytes: number): boolean {
  if (canonical.includes('/') || canonical.includes('\0') || canonical.length === 0) return false;
  // The hash directories are 3 characters each whatever the hash: no need to compute it here.
  const relativePath = canonical.includes(';')
    ? [TAGGED_DIR, 'xxx', 'xxx', canonical.replaceAll('.', '_DOT_')].join(sep) + WHISPER_EXTENSION
    : canonical.split('.').join(sep) + WHISPER_EXTENSION;
  if (dataDirBytes + 1 + Buffer.byteLength(relativePath) + FILE_SUFFIX_ROOM > MAX_PATH_BYTES) return false;
  const parts = relativePath.split(sep);
  for (let i = 0; i < parts.length; i++) {
    const room = i === parts.length - 1 ? FILE_SUFFIX_ROOM : 0;
    if (Buffer.byteLength(parts[i]!) + room > MAX_NODE_BYTES) return false;
  }
  return true;
}
