/**
 * Who is in the ring, and the schedule of ring versions every relay routes by. Two sources:
 * a fixed member list (no Redis: one version, forever), or Redis, where accumulators register with a heartbeat,
 * any participant turns membership changes into new versions with a compare-and-set, and relays watch
 * (pub/sub, with a periodic poll in case a message is lost) and rebuild.
 */
import { Redis } from 'ioredis';
import { ConfigError, MetricsRegistry, type Counter, type Gauge, type Logger } from '@carillon/core';
import type { HashRingOptions } from './hash-ring.js';
import { RingStore } from './ring-store.js';
import {
  RingSchedule,
  planVersion,
  pruneVersions,
  validateRingTiming,
  type RingMember,
  type RingTiming,
  type RingVersion,
} from './ring-versions.js';

export type ScheduleListener = (schedule: RingSchedule) => void;

export interface Membership {
  /** The schedule as last seen. Hold no copy: it is replaced, never changed, on every new version. */
  readonly schedule: RingSchedule;
  /** Called with each new schedule. Returns the unsubscribe function. */
  onChange(listener: ScheduleListener): () => void;
  start(): Promise<void>;
  /** Why this process is not (yet) a working participant, or undefined when it is (readiness). */
  notReady(): string | undefined;
  /** Stops watching (and heartbeating). Registration is left to expire; use `leave()` to leave at once. */
  close(): Promise<void>;
}

/** A fixed member list as a single version governing every time. */
export class StaticMembership implements Membership {
  readonly schedule: RingSchedule;

  constructor(members: readonly RingMember[], options: HashRingOptions = {}) {
    this.schedule = RingSchedule.fixed(members, options);
  }

  onChange(): () => void {
    return () => {};
  }

  async start(): Promise<void> {}

  notReady(): undefined {
    return undefined;
  }

  async close(): Promise<void> {}
}

/** What ioredis needs beyond the URL: credentials kept out of it (URLs get logged), and TLS. */
export interface RedisConnectionOptions {
  username?: string;
  password?: string;
  tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer };
}

export interface RedisMembershipOptions {
  redisUrl: string;
  redis?: RedisConnectionOptions;
  /** Key prefix; every cluster (and every test) has its own. */
  prefix: string;
  timing: RingTiming;
  /** This accumulator, registered and kept alive; absent for relays, which only watch. */
  self?: RingMember;
  heartbeatIntervalMs?: number;
  /** Member key expiry; a member missing this long leaves the ring at a later boundary. */
  heartbeatTtlMs?: number;
  /** Re-read versions and check for expired members this often, whatever pub/sub delivered. */
  pollIntervalMs?: number;
  /** Whether this participant writes new versions when membership changes. Default true. */
  reconcile?: boolean;
  connectTimeoutMs?: number;
  commandTimeoutMs?: number;
  ring?: HashRingOptions;
  metrics?: MetricsRegistry;
  logger?: Logger;
}

// A writer that loses the compare-and-set re-reads and tries again; more losses than this in a row is an error.
const MAX_WRITE_ATTEMPTS = 8;
/** Start-up waits for Redis with doubling, jittered delays up to this. */
const START_BACKOFF_MAX_MS = 5_000;
const START_BACKOFF_FIRST_MS = 200;

export class RedisMembership implements Membership {
  private current: RingSchedule;
  private readonly listeners = new Set<ScheduleListener>();
  private readonly redis: Redis;
  private readonly subscriber: Redis;
  private readonly store: RingStore;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly seen = new Set<number>();
  private closed = false;
  private refreshing: Promise<unknown> = Promise.resolve();
  private heartbeating = false;
  private started = false;
  /** When Redis last answered a heartbeat or a poll (ms). */
  private lastContact = 0;
  private readonly versionsSeen: Counter;
  private readonly versionsWritten: Counter;
  private readonly writeConflicts: Counter;
  private readonly errors: Counter;
  private readonly membersGauge: Gauge;
  private readonly latestGauge: Gauge;

  constructor(private readonly options: RedisMembershipOptions) {
    validateRingTiming(options.timing);
    // Built with the ring options from the start: schedules derived from it (including()) build rings alike.
    this.current = new RingSchedule([], options.ring);
    if (this.heartbeatTtlMs <= (options.heartbeatIntervalMs ?? 1000))
      throw new ConfigError('ring.heartbeatTtl', 'must be longer than the heartbeat interval, or members flap');
    const connection = {
      connectTimeout: options.connectTimeoutMs ?? 2000,
      commandTimeout: options.commandTimeoutMs ?? 2000,
      maxRetriesPerRequest: 1,
      lazyConnect: true,
      ...options.redis,
    };
    this.redis = new Redis(options.redisUrl, connection);
    this.subscriber = new Redis(options.redisUrl, connection);
    // ioredis reconnects by itself; without a listener an unreachable Redis would crash the process.
    for (const client of [this.redis, this.subscriber])
      client.on('error', (error: Error) => this.fail('connection', error));
    this.store = new RingStore(this.redis, options.prefix);
    this.subscriber.on('message', () => void this.refresh().catch((error: unknown) => this.fail('refresh', error)));

    // Without a registry the counts still exist (tests and health checks read them), just unexported.
    const metrics = options.metrics ?? new MetricsRegistry();
    this.versionsSeen = metrics.counter('ring_versions_seen_total', 'Ring versions this process has learnt of');
    this.versionsWritten = metrics.counter('ring_versions_written_total', 'Ring versions this process wrote');
    this.writeConflicts = metrics.counter(
      'ring_version_conflicts_total',
      'Ring version writes lost to another writer, then retried',
    );
    this.errors = metrics.counter('ring_membership_errors_total', 'Failed membership operations', ['operation']);
    this.membersGauge = metrics.gauge('ring_members', 'Members in the latest ring version');
    this.latestGauge = metrics.gauge('ring_version', 'Latest ring version number');
  }

  get schedule(): RingSchedule {
    return this.current;
  }

  onChange(listener: ScheduleListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Connects, registers `self` if given, writes a version for it, loads the schedule, then keeps all of it fresh.
   * While Redis cannot be reached (not up yet in a starting cluster) it tries again with backoff, counted as
   * `ring_membership_errors_total{operation="start"}`; only close() ends the wait.
   */
  async start(): Promise<void> {
    let delay = START_BACKOFF_FIRST_MS;
    for (;;) {
      if (this.closed) throw new Error('membership closed before it could start');
      try {
        await this.startOnce();
        return;
      } catch (error) {
        this.fail('start', error);
        this.options.logger?.warn({ retryInMs: delay }, 'Redis not reachable at start: waiting for it');
        // A fresh connection next time: ioredis would otherwise retry on its own and refuse a second connect().
        this.redis.disconnect();
        this.subscriber.disconnect();
        await new Promise((resolve) => setTimeout(resolve, delay * (0.5 + Math.random() / 2)));
        delay = Math.min(delay * 2, START_BACKOFF_MAX_MS);
      }
    }
  }

  private async startOnce(): Promise<void> {
    await Promise.all([this.redis.connect(), this.subscriber.connect()]);
    await this.subscriber.subscribe(this.store.channel);
    const self = this.options.self;
    if (self) await this.store.register(self, this.heartbeatTtlMs);
    if (this.reconciles) await this.reconcile();
    await this.refresh();
    this.started = true;
    this.lastContact = Date.now();
    if (self) {
      this.heartbeating = true;
      this.every('heartbeat', this.options.heartbeatIntervalMs ?? 1000, () => this.heartbeat());
    }
    this.every('poll', this.options.pollIntervalMs ?? 5000, async () => {
      if (this.reconciles) await this.reconcile();
      await this.refresh();
    });
  }

  /**
   * Not ready before start-up reached Redis, when Redis has not answered for longer than a member's key lives (or
   * two polls, for a relay, which only polls), and, for a member, until the latest version holds it.
   */
  notReady(): string | undefined {
    if (this.closed) return 'membership closed';
    if (!this.started) return 'waiting for Redis';
    const silentMs = Date.now() - this.lastContact;
    const boundMs = this.options.self ? this.heartbeatTtlMs : 2 * (this.options.pollIntervalMs ?? 5000);
    if (silentMs > boundMs) return `Redis has not answered for ${silentMs} ms`;
    const self = this.options.self;
    if (self && !(this.current.latest?.members.some((m) => m.id === self.id) ?? false))
      return 'not yet in the ring (waiting for its version)';
    return undefined;
  }

  /**
   * Makes the version schedule match the live members: if they differ from the latest version, writes the next
   * version (effective at a future boundary) with a compare-and-set, retrying when another writer wins. Returns
   * the version written, or undefined when none was needed.
   */
  async reconcile(): Promise<RingVersion | undefined> {
    const timing = this.options.timing;
    for (let attempt = 0; attempt < MAX_WRITE_ATTEMPTS; attempt++) {
      const state = await this.store.readState();
      const next = planVersion(state.versions, state.live, state.now, timing);
      if (next === undefined) return undefined;
      const kept = pruneVersions([...state.versions, next], state.now, timing.retain);
      const keptNumbers = new Set(kept.map((v) => v.version));
      const pruned = state.versions.filter((v) => !keptNumbers.has(v.version)).map((v) => v.version);
      if (await this.store.compareAndSet(state.latest, next, pruned, state.expired)) {
        this.versionsWritten.inc();
        this.options.logger?.info(
          { version: next.version, effectiveFrom: next.effectiveFrom, members: next.members.map((m) => m.id) },
          'wrote ring version',
        );
        return next;
      }
      this.writeConflicts.inc();
    }
    throw new Error(`ring version write lost ${MAX_WRITE_ATTEMPTS} compare-and-sets in a row`);
  }

  /**
   * Re-reads the versions and, if they changed, rebuilds the schedule and tells the listeners. Refreshes run one
   * after another so a slow, older read never replaces a newer schedule.
   */
  refresh(): Promise<RingSchedule> {
    const next = this.refreshing.then(() => this.load());
    this.refreshing = next.catch(() => this.current);
    return next;
  }

  private async load(): Promise<RingSchedule> {
    const versions = await this.store.readVersions();
    if (this.closed || sameSchedule(this.current, versions)) return this.current;
    this.current = new RingSchedule(versions, this.options.ring, this.current);
    for (const v of versions) {
      if (this.seen.has(v.version)) continue;
      this.seen.add(v.version);
      this.versionsSeen.inc();
    }
    const latest = this.current.latest;
    this.membersGauge.set(latest?.members.length ?? 0);
    this.latestGauge.set(latest?.version ?? 0);
    for (const listener of this.listeners) listener(this.current);
    return this.current;
  }

  /**
   * Leaves the ring now: stops the heartbeat, deregisters, and writes the version without this member. Returns
   * that version: this member still owns every window before its `effectiveFrom` and must flush them before
   * exiting. Then closes.
   */
  async leave(): Promise<RingVersion | undefined> {
    const self = this.options.self;
    if (!self) throw new Error('leave() needs a registered member (options.self)');
    this.heartbeating = false;
    await this.store.deregister(self.id);
    const version = await this.reconcile();
    await this.close();
    return version;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.heartbeating = false;
    for (const timer of this.timers) clearTimeout(timer);
    await Promise.allSettled([this.subscriber.quit(), this.redis.quit()]);
  }

  private get reconciles(): boolean {
    return this.options.reconcile ?? true;
  }

  private get heartbeatTtlMs(): number {
    return this.options.heartbeatTtlMs ?? 3 * (this.options.heartbeatIntervalMs ?? 1000);
  }

  private async heartbeat(): Promise<void> {
    const self = this.options.self;
    if (!self || !this.heartbeating) return;
    if (await this.store.heartbeat(self, this.heartbeatTtlMs)) return;
    // Our key expired (a long pause, a Redis restart): come back, and into the ring at a later boundary.
    this.options.logger?.warn({ id: self.id }, 'membership expired; registering again');
    await this.store.register(self, this.heartbeatTtlMs);
    if (this.reconciles) await this.reconcile();
  }

  /** Runs `task` every `ms`, one run at a time, counting failures instead of stopping. */
  private every(operation: string, ms: number, task: () => Promise<void>): void {
    const slot = this.timers.length;
    const run = (): void => {
      task()
        .then(() => {
          this.lastContact = Date.now();
        })
        .catch((error: unknown) => this.fail(operation, error))
        .finally(() => {
          if (!this.closed) this.timers[slot] = setTimeout(run, ms).unref();
        });
    };
    this.timers.push(setTimeout(run, ms).unref());
  }

  private fail(operation: string, error: unknown): void {
    if (this.closed) return;
    this.errors.labels(operation).inc();
    this.options.logger?.error({ operation, err: error }, 'ring membership error');
  }
}

function sameSchedule(schedule: RingSchedule, versions: readonly RingVersion[]): boolean {
  return (
    schedule.versions.length === versions.length &&
    schedule.versions.every(
      (v, i) => v.version === versions[i]!.version && v.effectiveFrom === versions[i]!.effectiveFrom,
    )
  );
}
