/**
 * The log's small state files (its replay floor, its amend mark): one JSON object each, read whole, written
 * synchronously and atomically (temporary file, fsync, rename, directory fsync), so a crash leaves the old
 * version or the new one, never a torn one.
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { syncDirectory } from './segments.js';

/** The parsed file, or undefined when there is none. Not JSON: an error naming the path and what to do. */
export function readStateFile(path: string, whatToDo: string): Record<string, unknown> | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === 'object' && parsed !== null) return parsed as Record<string, unknown>;
  } catch {
    // Reported below, as for JSON that is no object.
  }
  throw new Error(`${path} is not a JSON object: ${whatToDo}`);
}

/** Replaces the file at `path` (in `dir`) with `value` and the time it was written. */
export function writeStateFile(dir: string, path: string, value: Record<string, unknown>): void {
  const temporary = `${path}.tmp`;
  const fd = openSync(temporary, 'w');
  try {
    writeSync(fd, JSON.stringify({ ...value, writtenAtMs: Date.now() }));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temporary, path);
  syncDirectory(dir);
}
