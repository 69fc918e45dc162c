/** Segment files of a log: `<dir>/<index, 16 digits>.wal`, oldest first by index. */
import { closeSync, fsyncSync, openSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export interface LogSegment {
  index: number;
  path: string;
  bytes: number;
}

const SEGMENT_NAME = /^(\d{16})\.wal$/;

export function segmentPath(dir: string, index: number): string {
  return join(dir, `${String(index).padStart(16, '0')}.wal`);
}

/** Indexes of the segment files in `dir`, oldest first ([] when the directory does not exist). */
export function listSegmentIndexes(dir: string): number[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const indexes: number[] = [];
  for (const name of names) {
    const match = SEGMENT_NAME.exec(name);
    if (match) indexes.push(Number(match[1]));
  }
  return indexes.sort((a, b) => a - b);
}

/** fsync of the directory: a file created or renamed in it survives a power failure only once its entry does. */
export function syncDirectory(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
