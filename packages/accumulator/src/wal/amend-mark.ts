/**
 * The log's amend mark on disk (`<wal.dir>/amends-stored.json`): a log position before which every record's
 * amends (late points merged into a window already written) are in the store. On replay a record at or after it
 * has its amends of windows below the replay floor merged into the store again (a window at or past the floor is
 * rebuilt whole, amends included, and written over the store). A position, not a time: positions only grow, also
 * across restarts (appends go to a new segment), while the windows open after a restart start from the floor.
 * Raised after each flush once the writers stored its amends; written synchronously and atomically (temporary
 * file, fsync, rename).
 */
import { join } from 'node:path';
import type { LogPosition } from '@carillon/core';
import { readStateFile, writeStateFile } from './state-file.js';

/** Whether `a` comes before `b` in the log. */
export function isBefore(a: LogPosition, b: LogPosition): boolean {
  return a.segment < b.segment || (a.segment === b.segment && a.offset < b.offset);
}

const isWhole = (n: unknown): n is number => typeof n === 'number' && Number.isInteger(n) && n >= 0;

export function amendMarkPath(dir: string): string {
  return join(dir, 'amends-stored.json');
}

/** The stored mark, or undefined when there is none. A damaged file is an error naming the path. */
export function readAmendMark(dir: string): LogPosition | undefined {
  const path = amendMarkPath(dir);
  const state = readStateFile(path, 'delete it to start without merging amends again on replay');
  if (state === undefined) return undefined;
  const { segment, offset } = (state.storedBefore ?? {}) as { segment?: unknown; offset?: unknown };
  if (!isWhole(segment) || !isWhole(offset))
    throw new Error(`${path} holds no storedBefore position: delete it to start without merging amends again`);
  return { segment, offset };
}

export function writeAmendMark(dir: string, storedBefore: LogPosition): void {
  writeStateFile(dir, amendMarkPath(dir), { storedBefore });
}
