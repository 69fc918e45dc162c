/**
 * A writer's leftovers across a restart: what it could not deliver by the end of its close is written to
 * `<dir>/<writer>.spill` (JSON lines, one FlushBatch each), and loaded first when the writer opens again. The
 * file is replaced atomically (temp, fsync, rename) and removed only once everything it held was delivered.
 */
import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { FlushBatch, Resolution } from '@carillon/core';

interface SpillRecord {
  step: number;
  time: number;
  names: string[];
  stats: number[];
}

export function spillPath(dir: string, writer: string): string {
  return join(dir, `${writer.replace(/[^A-Za-z0-9_.-]/g, '_')}.spill`);
}

/** Writes `batches` as the spill file (or removes it when there are none). */
export async function writeSpill(path: string, dir: string, batches: readonly FlushBatch[]): Promise<void> {
  if (batches.length === 0) {
    await removeSpill(path);
    return;
  }
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const temp = `${path}.tmp-${process.pid}`;
  const file = await open(temp, 'w', 0o600);
  try {
    for (const b of batches) {
      const record: SpillRecord = { step: b.resolution.step, time: b.time, names: b.names, stats: Array.from(b.stats) };
      await file.write(`${JSON.stringify(record)}\n`);
    }
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(temp, path);
}

export interface LoadedSpill {
  batches: FlushBatch[];
  /** Points whose resolution is no longer configured. */
  unknownPoints: number;
  /** Lines that did not parse (a file cut by a crash while written is never renamed into place). */
  badLines: number;
}

export async function readSpill(path: string, resolutions: readonly Resolution[]): Promise<LoadedSpill> {
  const loaded: LoadedSpill = { batches: [], unknownPoints: 0, badLines: 0 };
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return loaded;
    throw error;
  }
  for (const line of text.split('\n')) {
    if (line === '') continue;
    let record: SpillRecord;
    try {
      record = JSON.parse(line) as SpillRecord;
    } catch {
      loaded.badLines++;
      continue;
    }
    const resolution = resolutions.find((r) => r.step === record.step);
    if (resolution === undefined) {
      loaded.unknownPoints += record.names.length;
      continue;
    }
    loaded.batches.push({
      resolution,
      time: record.time,
      names: record.names,
      stats: Float64Array.from(record.stats),
    });
  }
  return loaded;
}

export async function removeSpill(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}
