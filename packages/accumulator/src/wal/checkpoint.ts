/**
 * The log's replay floor on disk (`<wal.dir>/replay-from.json`): windows ending at or before it are not rebuilt
 * on replay, because they were written at every resolution (the coarsest flushed watermark) or because the
 * segments holding part of them were dropped past wal.max_bytes (a partial rebuild would overwrite stored
 * values with smaller ones). Written synchronously and atomically (temporary file, fsync, rename): it moves
 * once per coarsest step, and it must be on disk before the segments it lets go are deleted.
 */
import { join } from 'node:path';
import { readStateFile, writeStateFile } from './state-file.js';

export function checkpointPath(dir: string): string {
  return join(dir, 'replay-from.json');
}

/** The stored floor, or undefined when there is none. A damaged file is an error naming the path. */
export function readReplayFloor(dir: string): number | undefined {
  const path = checkpointPath(dir);
  const state = readStateFile(path, 'delete it (and the segments beside it) to start without replaying');
  if (state === undefined) return undefined;
  const floor = state.replayFrom;
  if (typeof floor !== 'number' || !Number.isInteger(floor) || floor < 0)
    throw new Error(`${path} holds no whole replayFrom: delete it (and the segments beside it) to start afresh`);
  return floor;
}

export function writeReplayFloor(dir: string, floor: number): void {
  writeStateFile(dir, checkpointPath(dir), { replayFrom: floor });
}
