/**
 * What accumulators wrote (their StatPoint files), read as a crash leaves them, and compared with the oracle:
 * one owner per (key, window), what the store holds equal to the oracle's (windows rebuilt after a crash are
 * written again, and late points are written as amends merged into the window: `storedPoint`), nothing missing,
 * nothing extra.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { mergeStatPoint, type StatPoint } from '@carillon/core';
import type { StatPointRecord } from '@carillon/accumulator';
import { keyOf, pointOf, type Accumulator } from './cluster.js';

/**
 * Every StatPoint line of an accumulator's file. A kill -9 can cut the line being appended; the next append
 * (after the restart) then continues on it, so a line is read from its last record start.
 */
export function writtenRecords(dataDir: string): StatPointRecord[] {
  const path = join(dataDir, 'statpoints.jsonl');
  if (!existsSync(path)) return [];
  const records: StatPointRecord[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (line === '') continue;
    const start = line.lastIndexOf('{"name"');
    try {
      records.push(JSON.parse(line.slice(Math.max(0, start))) as StatPointRecord);
    } catch {
      // A torn line with no complete record in it.
    }
  }
  return records;
}

/** `name|step|time` → who wrote it, in write order. */
export type Written = Map<string, { id: string; record: StatPointRecord }[]>;

export function collectWritten(accumulators: readonly Pick<Accumulator, 'id' | 'dataDir'>[]): Written {
  const written: Written = new Map();
  const seen = new Set<string>();
  for (const a of accumulators) {
    // A restarted member is listed again: read its file once.
    if (seen.has(a.dataDir)) continue;
    seen.add(a.dataDir);
    for (const record of writtenRecords(a.dataDir)) {
      const key = keyOf(record);
      let writers = written.get(key);
      if (writers === undefined) written.set(key, (writers = []));
      writers.push({ id: a.id, record });
    }
  }
  return written;
}

export interface Problems {
  twoOwners: string[];
  wrong: string[];
  missing: string[];
  extra: string[];
}

export const NO_PROBLEMS: Problems = { twoOwners: [], wrong: [], missing: [], extra: [] };

/** What the store holds for a (key, window): the last window written, with the amends after it merged in. */
export function storedPoint(writers: readonly { record: StatPointRecord }[]): StatPoint {
  let stored: StatPoint | undefined;
  for (const { record } of writers) {
    const point: StatPoint = { ...record };
    if (record.amend !== true || stored === undefined) stored = point;
    else mergeStatPoint(stored, point);
  }
  return stored!;
}

/** First few problems of each kind, and how many there are in all. */
export function compareWithOracle(
  written: Written,
  expected: Map<string, StatPoint>,
  skip: (key: string) => boolean = () => false,
): { problems: Problems; counts: Record<keyof Problems, number> } {
  const problems: Problems = { twoOwners: [], wrong: [], missing: [], extra: [] };
  for (const [key, writers] of written) {
    if (skip(key)) continue;
    const ids = new Set(writers.map((w) => w.id));
    if (ids.size > 1) problems.twoOwners.push(`${key}: ${[...ids].join(',')}`);
    const want = expected.get(key);
    const got = JSON.stringify(pointOf({ ...writers[0]!.record, ...storedPoint(writers) }));
    if (want === undefined) problems.extra.push(key);
    else if (got !== JSON.stringify(want)) problems.wrong.push(`${key}: wrote ${got}, oracle ${JSON.stringify(want)}`);
  }
  for (const key of expected.keys()) if (!skip(key) && !written.has(key)) problems.missing.push(key);
  const counts = {
    twoOwners: problems.twoOwners.length,
    wrong: problems.wrong.length,
    missing: problems.missing.length,
    extra: problems.extra.length,
  };
  for (const list of Object.values(problems)) list.splice(8);
  return { problems, counts };
}
