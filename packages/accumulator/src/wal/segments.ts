/** Segment files of the log: `<dir>/<index, 16 digits>.wal`, oldest first by index. */
import { closeSync, fsyncSync, openSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export interface Segment {
  index: number;
  path: string;
  bytes: number;
  /**
   * End of the latest coarsest window the segment's points were stored in (0: none). Known only after its lines
   * were parsed, so it is kept in memory (raised after each record is aggregated, computed again on replay).
   */
  coarseEnd: number;
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
