/** Reading the file writer's tab-separated files back as ReadRecords. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ReadRecord } from './scenario.js';

/**
 * Every line of every file in `dir`: `name sum mean min max first last count resolution time_ns ttl_ns`. A line of
 * another shape, or a time not on a whole second, is an error: the writer's format is part of what is tested.
 */
export function readTsv(dir: string): ReadRecord[] {
  const records: ReadRecord[] = [];
  for (const file of readdirSync(dir))
    for (const line of readFileSync(join(dir, file), 'utf8').split('\n')) {
      if (line === '') continue;
      const columns = line.split('\t');
      const [name, sum, mean, min, max, first, last, count, step, timeNs, ttlNs] = columns;
      if (columns.length !== 11 || !timeNs!.endsWith('000000000'))
        throw new Error(`${file}: not a file writer line: ${JSON.stringify(line)}`);
      records.push({
        name: name!,
        sum: Number(sum),
        mean: Number(mean),
        min: Number(min),
        max: Number(max),
        first: Number(first),
        last: Number(last),
        count: Number(count),
        step: Number(step),
        time: Number(BigInt(timeNs!) / 1_000_000_000n),
        ttl: Number(BigInt(ttlNs!) / 1_000_000_000n),
      });
    }
  return records;
}
