/**
 * Whisper's own propagation (whisper.py `__propagate`), for files whose archives are not carillon's resolutions (a
 * carbon data directory, `whisper-create x.wsp 60s:1d 1h:30d`): after a point lands in one archive, each lower
 * archive's interval holding it is recomputed from the higher archive's slots, with the file's aggregation method,
 * if at least xFilesFactor of those slots are known; the chain stops at the first archive that is not updated.
 * Carillon's own files never need it: every archive is one of its resolutions and gets its exact value directly.
 */
import {
  readArchiveIntervals,
  writeArchivePoints,
  type ArchiveInfo,
  type WhisperAggregation,
  type WhisperHeader,
} from './format.js';
import type { RandomAccessFile } from './fd-file.js';

/** whisper.py `aggregate`: `known` are the non-empty slots of `neighbors` (all slots of the lower interval). */
export function aggregateSlots(
  method: WhisperAggregation,
  known: readonly number[],
  neighbors: readonly (number | null)[],
): number {
  switch (method) {
    case 'average':
      return sum(known) / known.length;
    case 'sum':
      return sum(known);
    case 'last':
      return known[known.length - 1]!;
    case 'max':
      return Math.max(...known);
    case 'min':
      return Math.min(...known);
    case 'avg_zero':
      return sum(known) / neighbors.length;
    case 'absmax':
      return known.reduce((best, v) => (Math.abs(v) > Math.abs(best) ? v : best));
    case 'absmin':
      return known.reduce((best, v) => (Math.abs(v) < Math.abs(best) ? v : best));
  }
}

function sum(values: readonly number[]): number {
  let total = 0;
  for (const v of values) total += v;
  return total;
}

/** Base intervals known per archive offset (the store's cache); read from the file when absent. */
export type BaseIntervals = Map<number, number>;

/**
 * Propagates the interval holding `time` from archive `from` down the chain of `lower` archives (indexes into the
 * header, each below the previous), as whisper does after an update. Returns how many archives were updated.
 */
export async function propagateDown(
  handle: RandomAccessFile,
  header: WhisperHeader,
  from: number,
  lower: readonly number[],
  time: number,
  bases: BaseIntervals,
): Promise<number> {
  let higher = header.archives[from]!;
  let updated = 0;
  for (const index of lower) {
    const archive = header.archives[index]!;
    if (!(await propagateOne(handle, header, higher, archive, time, bases))) break;
    updated++;
    higher = archive;
  }
  return updated;
}

async function propagateOne(
  handle: RandomAccessFile,
  header: WhisperHeader,
  higher: ArchiveInfo,
  lower: ArchiveInfo,
  time: number,
  bases: BaseIntervals,
): Promise<boolean> {
  const intervalStart = time - floorMod(time, lower.secondsPerPoint);
  const slots = Math.floor(lower.secondsPerPoint / higher.secondsPerPoint);
  const neighbors = await readArchiveIntervals(handle, higher, intervalStart, slots, bases.get(higher.offset));
  const known = neighbors.filter((v): v is number => v !== null);
  if (known.length === 0 || known.length / neighbors.length < header.xFilesFactor) return false;
  const value = aggregateSlots(header.aggregationMethod, known, neighbors);
  bases.set(
    lower.offset,
    await writeArchivePoints(handle, lower, [{ time: intervalStart, value }], bases.get(lower.offset)),
  );
  return true;
}

function floorMod(a: number, n: number): number {
  return ((a % n) + n) % n;
}
