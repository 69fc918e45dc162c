/**
 * The Redis layout of the latest StatPoints and the one Lua script that writes them. Per series and resolution:
 * - a hash `<prefix>latest:<step>s:<name>` with fields time, sum, min, max, first, last, count: the newest window
 *   written (a window older than the stored one never replaces it, so a retried batch cannot undo a newer one);
 * - optionally a stream `<prefix>stream:<step>s:<name>` capped with `XADD MAXLEN ~ n`, one entry per window, its
 *   id `<time in ms>-0`, so XRANGE reads by time. Streams only grow at their end: an entry not newer than the
 *   last (a rewrite of the same window, or an older window retried late) is skipped and counted.
 * Both keys expire when their window leaves the resolution's retention (`EXPIREAT time + ttl`).
 * One script call writes many series atomically and in one round trip; values travel as JavaScript's shortest
 * round-trip decimal text, so what is read back parses to the very same double.
 */
import { STAT_COUNT, STAT_FIRST, STAT_LAST, STAT_MAX, STAT_MIN, STAT_STRIDE, STAT_SUM } from '@carillon/core';
import type { FlushBatch } from '@carillon/core';

/** KEYS: hash (and stream) key per series. ARGV: time, expireAt, maxLen, streamId, then six values per series. */
export const LATEST_SCRIPT = `
local time = tonumber(ARGV[1])
local expireAt = ARGV[2]
local maxLen = tonumber(ARGV[3])
local streamId = ARGV[4]
local per = 1
if maxLen > 0 then per = 2 end
local n = #KEYS / per
local written, stale, skipped = 0, 0, 0
for i = 0, n - 1 do
  local hash = KEYS[i * per + 1]
  local o = 4 + i * 6
  local known = redis.call('HGET', hash, 'time')
  if known and tonumber(known) > time then
    stale = stale + 1
  else
    redis.call('HSET', hash, 'time', ARGV[1], 'sum', ARGV[o + 1], 'min', ARGV[o + 2], 'max', ARGV[o + 3],
      'first', ARGV[o + 4], 'last', ARGV[o + 5], 'count', ARGV[o + 6])
    redis.call('EXPIREAT', hash, expireAt)
    written = written + 1
  end
  if maxLen > 0 then
    local stream = KEYS[i * per + 2]
    local added = redis.pcall('XADD', stream, 'MAXLEN', '~', maxLen, streamId, 'sum', ARGV[o + 1],
      'min', ARGV[o + 2], 'max', ARGV[o + 3], 'first', ARGV[o + 4], 'last', ARGV[o + 5], 'count', ARGV[o + 6])
    if type(added) == 'table' and added.err then
      skipped = skipped + 1
    else
      redis.call('EXPIREAT', stream, expireAt)
    end
  end
end
return {written, stale, skipped}
`;

export interface RedisLayout {
  /** Prepended to every key (`carillon:`). */
  keyPrefix: string;
  /** Entries kept per stream (approximately, `MAXLEN ~`); 0 writes no streams. */
  streamMaxLen: number;
}

export function latestKey(layout: RedisLayout, step: number, name: string): string {
  return `${layout.keyPrefix}latest:${step}s:${name}`;
}

export function streamKey(layout: RedisLayout, step: number, name: string): string {
  return `${layout.keyPrefix}stream:${step}s:${name}`;
}

export interface ScriptCall {
  keys: string[];
  args: string[];
}

/** The script's keys and arguments for the series [from, to) of `batch`. */
export function latestScriptCall(layout: RedisLayout, batch: FlushBatch, from: number, to: number): ScriptCall {
  const { step, ttl } = batch.resolution;
  const keys: string[] = [];
  const args = [String(batch.time), String(batch.time + ttl), String(layout.streamMaxLen), `${batch.time * 1000}-0`];
  const stats = batch.stats;
  for (let i = from; i < to; i++) {
    const name = batch.names[i]!;
    keys.push(latestKey(layout, step, name));
    if (layout.streamMaxLen > 0) keys.push(streamKey(layout, step, name));
    const o = i * STAT_STRIDE;
    args.push(
      String(stats[o + STAT_SUM]),
      String(stats[o + STAT_MIN]),
      String(stats[o + STAT_MAX]),
      String(stats[o + STAT_FIRST]),
      String(stats[o + STAT_LAST]),
      String(stats[o + STAT_COUNT]),
    );
  }
  return { keys, args };
}

/** What one script call reports: series whose hash was written, found newer (stale), stream entries skipped. */
export interface ScriptResult {
  written: number;
  stale: number;
  streamSkipped: number;
}

export function parseScriptResult(reply: unknown): ScriptResult {
  if (!Array.isArray(reply) || reply.length !== 3 || !reply.every((n) => typeof n === 'number'))
    throw new Error(`unexpected script reply ${JSON.stringify(reply)}`);
  const [written, stale, streamSkipped] = reply as [number, number, number];
  return { written, stale, streamSkipped };
}
