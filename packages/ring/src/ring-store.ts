/**
 * Where the cluster keeps its ring in Redis, so every relay agrees on the same versions and boundaries.
 *
 * Keys under `prefix`:
 *   {prefix}:member:{id}    the member's JSON, with a PX expiry its heartbeat refreshes
 *   {prefix}:members        set of ids that registered (a missing member key marks an expired one)
 *   {prefix}:ring:versions  hash: version number → RingVersion JSON
 *   {prefix}:ring:latest    the latest version number; the compare-and-set guard
 * Channel {prefix}:ring:changed carries "something changed" (the new version number, or "members").
 */
import type { ChainableCommander, Redis } from 'ioredis';
import type { RingMember, RingVersion } from './ring-versions.js';

/** What a writer reads before deciding on a new version. */
export interface RingState {
  /** Redis's clock, epoch seconds: one clock for every writer, whatever their own clocks say. */
  now: number;
  latest: number;
  versions: RingVersion[];
  /** Registered members whose heartbeat is still alive. */
  live: RingMember[];
  /** Registered ids whose heartbeat has expired. */
  expired: string[];
}

// Writes a version only if `latest` is still what the writer read, so two writers can never both make version N.
// Also drops pruned versions and forgets expired ids that are still expired, then tells the watchers.
const COMPARE_AND_SET = `
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if current ~= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
redis.call('SET', KEYS[1], ARGV[2])
local pruned = tonumber(ARGV[5])
for i = 1, pruned do redis.call('HDEL', KEYS[2], ARGV[5 + i]) end
for i = 4, #KEYS do
  if redis.call('EXISTS', KEYS[i]) == 0 then redis.call('SREM', KEYS[3], ARGV[5 + pruned + i - 3]) end
end
redis.call('PUBLISH', ARGV[4], ARGV[2])
return 1
`;

export class RingStore {
  readonly channel: string;
  private readonly latestKey: string;
  private readonly versionsKey: string;
  private readonly membersKey: string;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {
    this.channel = `${prefix}:ring:changed`;
    this.latestKey = `${prefix}:ring:latest`;
    this.versionsKey = `${prefix}:ring:versions`;
    this.membersKey = `${prefix}:members`;
  }

  private memberKey(id: string): string {
    return `${this.prefix}:member:${id}`;
  }

  /** Registers (or re-registers) `member` alive for `ttlMs`, and tells the watchers. */
  async register(member: RingMember, ttlMs: number): Promise<void> {
    await execOrThrow(
      this.redis
        .multi()
        .set(this.memberKey(member.id), JSON.stringify(member), 'PX', ttlMs)
        .sadd(this.membersKey, member.id)
        .publish(this.channel, 'members'),
    );
  }

  /** Extends the member's life by `ttlMs`. False when it had already expired (it must register again). */
  async heartbeat(member: RingMember, ttlMs: number): Promise<boolean> {
    const reply = await this.redis.set(this.memberKey(member.id), JSON.stringify(member), 'PX', ttlMs, 'XX');
    return reply === 'OK';
  }

  /** Removes the member now, and tells the watchers. */
  async deregister(id: string): Promise<void> {
    await execOrThrow(
      this.redis.multi().del(this.memberKey(id)).srem(this.membersKey, id).publish(this.channel, 'members'),
    );
  }

  async readVersions(): Promise<RingVersion[]> {
    const fields = await this.redis.hgetall(this.versionsKey);
    return Object.values(fields)
      .map(parseVersion)
      .sort((a, b) => a.version - b.version);
  }

  async readState(): Promise<RingState> {
    const [time, latest, versions, ids] = await Promise.all([
      this.redis.time(),
      this.redis.get(this.latestKey),
      this.readVersions(),
      this.redis.smembers(this.membersKey),
    ]);
    ids.sort();
    const values = ids.length === 0 ? [] : await this.redis.mget(ids.map((id) => this.memberKey(id)));
    const live: RingMember[] = [];
    const expired: string[] = [];
    ids.forEach((id, i) => {
      const value = values[i];
      if (value === null || value === undefined) expired.push(id);
      else live.push(parseMember(value));
    });
    return { now: Number(time[0]), latest: Number(latest ?? 0), versions, live, expired };
  }

  /**
   * Writes `version` if the latest version is still `expectedLatest`; also deletes `pruned` version numbers and
   * forgets `expired` ids that have not come back. False when another writer got there first.
   */
  async compareAndSet(
    expectedLatest: number,
    version: RingVersion,
    pruned: readonly number[] = [],
    expired: readonly string[] = [],
  ): Promise<boolean> {
    const keys = [this.latestKey, this.versionsKey, this.membersKey, ...expired.map((id) => this.memberKey(id))];
    const args = [
      String(expectedLatest),
      String(version.version),
      JSON.stringify(version),
      this.channel,
      String(pruned.length),
      ...pruned.map(String),
      ...expired,
    ];
    const written = await this.redis.eval(COMPARE_AND_SET, keys.length, ...keys, ...args);
    return written === 1;
  }
}

/** Runs a MULTI and throws the first command error, which ioredis otherwise returns inside the result. */
async function execOrThrow(transaction: ChainableCommander): Promise<void> {
  const results = await transaction.exec();
  if (results === null) throw new Error('redis transaction aborted');
  for (const [error] of results) if (error) throw error;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function toMember(raw: unknown): RingMember {
  if (!isRecord(raw) || typeof raw.id !== 'string' || typeof raw.address !== 'string')
    throw new Error(`malformed ring member: ${JSON.stringify(raw)}`);
  if (raw.weight !== undefined && typeof raw.weight !== 'number')
    throw new Error(`malformed ring member weight: ${JSON.stringify(raw)}`);
  return raw.weight === undefined
    ? { id: raw.id, address: raw.address }
    : { id: raw.id, address: raw.address, weight: raw.weight };
}

export function parseMember(text: string): RingMember {
  return toMember(JSON.parse(text));
}

export function parseVersion(text: string): RingVersion {
  const raw: unknown = JSON.parse(text);
  if (
    !isRecord(raw) ||
    !Number.isInteger(raw.version) ||
    !Number.isInteger(raw.effectiveFrom) ||
    !Array.isArray(raw.members)
  )
    throw new Error(`malformed ring version: ${text}`);
  return {
    version: raw.version as number,
    effectiveFrom: raw.effectiveFrom as number,
    members: raw.members.map(toMember),
  };
}
