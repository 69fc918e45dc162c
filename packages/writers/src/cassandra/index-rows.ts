/**
 * The index rows one series name needs: for an untagged path every prefix in `path` and every node in `segment`;
 * for a tagged name one `tagged` row per tag plus its path as the `name` tag. Each row has a key (for the dedupe
 * cache) and a partition (rows of one partition may share an unlogged batch).
 */
import { splitCanonical } from '@carillon/core';

export type IndexRow =
  | { table: 'segment'; key: string; partition: string; pos: number; segment: string }
  | {
      table: 'path';
      key: string;
      partition: string;
      parent: string;
      length: number;
      path: string;
      /** Set on the full path only. */
      id: bigint | null;
    }
  | { table: 'tagged'; key: string; partition: string; tag: string; value: string; name: string; id: bigint };

export function indexRowsOf(name: string, id: bigint): IndexRow[] {
  const rows: IndexRow[] = [];
  if (name.includes(';')) {
    const { path, tags } = splitCanonical(name);
    for (const [tag, value] of [['name', path] as const, ...tags])
      rows.push({
        table: 'tagged',
        key: `t\u0000${tag}\u0000${value}\u0000${name}`,
        partition: `t\u0000${tag}`,
        tag,
        value,
        name,
        id,
      });
    return rows;
  }
  const nodes = name.split('.');
  let parent = '';
  for (let i = 0; i < nodes.length; i++) {
    const node = nodes[i]!;
    const path = parent === '' ? node : `${parent}.${node}`;
    const length = i + 1;
    const leaf = length === nodes.length;
    rows.push({
      table: 'segment',
      key: `s\u0000${length}\u0000${node}`,
      partition: `s\u0000${length}`,
      pos: length,
      segment: node,
    });
    rows.push({
      table: 'path',
      // A prefix and a leaf of the same path are separate rows' worth of columns: both may be needed.
      key: `${leaf ? 'l' : 'p'}\u0000${path}`,
      partition: `p\u0000${parent}\u0000${length}`,
      parent,
      length,
      path,
      id: leaf ? id : null,
    });
    parent = path;
  }
  return rows;
}
