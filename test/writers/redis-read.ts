/** Reading the redis writer's streams and hashes back as ReadRecords, with Redis commands. */
import type { Redis } from 'ioredis';
import type { ReadRecord } from './scenario.js';

function asNumbers(fields: Record<string, string> | string[]): Record<string, number> {
  const entries = Array.isArray(fields)
    ? Array.from({ length: fields.length / 2 }, (_, i) => [fields[2 * i]!, fields[2 * i + 1]!] as const)
    : Object.entries(fields);
  return Object.fromEntries(entries.map(([k, v]) => [k, Number(v)]));
}

/** `<prefix><kind>:<step>s:<name>` keys, by kind. */
async function keysOf(
  redis: Redis,
  prefix: string,
  kind: string,
): Promise<{ key: string; step: number; name: string }[]> {
  const found: { key: string; step: number; name: string }[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}${kind}:*`, 'COUNT', 1000);
    cursor = next;
    for (const key of keys) {
      const rest = key.slice(prefix.length + kind.length + 1);
      const colon = rest.indexOf(':');
      found.push({ key, step: parseInt(rest.slice(0, colon), 10), name: rest.slice(colon + 1) });
    }
  } while (cursor !== '0');
  return found;
}

/** Every entry of every stream under `prefix`: one per window, its id the window's time in ms. */
export async function readStreams(redis: Redis, prefix: string): Promise<ReadRecord[]> {
  const records: ReadRecord[] = [];
  for (const { key, step, name } of await keysOf(redis, prefix, 'stream'))
    for (const [id, fields] of await redis.xrange(key, '-', '+')) {
      const f = asNumbers(fields);
      records.push({ name, step, time: Number(id.split('-')[0]) / 1000, sum: NaN, count: NaN, ...f });
    }
  return records;
}

/** The latest hash of every series and resolution under `prefix` (its `time` field is the window's). */
export async function readLatest(redis: Redis, prefix: string): Promise<ReadRecord[]> {
  const records: ReadRecord[] = [];
  for (const { key, step, name } of await keysOf(redis, prefix, 'latest'))
    records.push({ name, step, time: NaN, sum: NaN, count: NaN, ...asNumbers(await redis.hgetall(key)) });
  return records;
}
