/**
 * Reading the whole cluster: a SeriesReader and SeriesFinder over the accumulators, for the relay's Graphite API
 * (query's createGraphiteApi evaluates functions once, at the relay, in its render workers, over the merged series).
 *
 * Where data is: a window of a series was aggregated, and so is stored or pending, at the member the ring version
 * in force at the window's start names (versions switch on coarsest boundaries, so every window of every
 * resolution has one owner). A read is cut into runs of windows with one owner and each owner is asked for its
 * runs only, so every (series, window) gets exactly one value, the owner's (its store's, or its pending window
 * where nothing is stored yet: one answer per window, never a sum of two). Windows older than the oldest ring
 * version kept are asked of every member of that version and the one value found is taken (with whisper each
 * window is in one member's files; the ring history must reach back as far as the longest retention to name it).
 * With a shared store (Cassandra), a window whose owner has left the ring, or does not answer, is read through
 * the series' current owner: its stored windows are the same there, only the lost member's unflushed ones are
 * missing (reported).
 *
 * Calls: one Fetch per (owner, resolution, range) gathers every series a render reads in the same turn, split
 * at `maxSeriesPerRequest`, at most `concurrency` calls in flight per member, each with the deadline.
 * Failures: a member that does not answer is counted (`relay_query_shard_failures_total{accumulator}`), logged,
 * and either named in the answer's headers (partial answers allowed) or turns the answer into a 503.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { ServerResponse } from 'node:http';
import {
  tagValueOf,
  type CounterChild,
  type Logger,
  type MetricsRegistry,
  type PendingSource,
  type Resolution,
  type SeriesReader,
} from '@carillon/core';
import { QueryError, unionFinder, type FoundNode, type SeriesFinder } from '@carillon/query';
import { keyHashOfName, type PlacedRingVersion, type RingMember, type RingSchedule } from '@carillon/ring';
import { QueryClient, QueryRefusal, type LinkSecurity } from '@carillon/transport';

export interface ClusterReadOptions {
  timeoutMs: number;
  allowPartial: boolean;
  /** Calls in flight per member. */
  concurrency: number;
  /** Calls waiting for a member behind those in flight; more are refused (counted, the member reported missing). */
  maxQueued: number;
  /** Series per Fetch call. */
  maxSeriesPerRequest: number;
  /** The accumulators share one store (Cassandra): see the module comment. */
  sharedStore: boolean;
  maxMessageBytes: number;
  /** Series one tag listing may count (`/tags/<tag>`), as the API's maxTagSeries. */
  maxTagSeries: number;
  /** The cluster token and TLS toward the accumulators, as the links use them. */
  security?: LinkSecurity;
}

/** The members that did not answer during one HTTP request, and its response (for the partial headers). */
interface RequestState {
  res: ServerResponse;
  missing: Set<string>;
}

/** The header naming the members whose data is missing from a partial answer. */
export const PARTIAL_HEADER = 'x-carillon-missing-accumulators';

/** Pending windows are read by the owners with their stored ones (Fetch), so the front has none of its own. */
export const NO_PENDING: PendingSource = { pending: () => [] };

/** A call refused because query.max_queued calls already wait for one member: reported as that member missing. */
export class QueryQueueFull extends Error {}

/** `limit` calls in flight, at most `maxWaiting` queued behind them; past it a call is refused (counted). */
class Limiter {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    private readonly limit: number,
    private readonly maxWaiting: number,
    private readonly refused: CounterChild,
  ) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) {
      if (this.waiting.length >= this.maxWaiting) {
        this.refused.inc();
        throw new QueryQueueFull(`${this.maxWaiting} read calls already wait for this accumulator (query.max_queued)`);
      }
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
    this.active++;
    try {
      return await task();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }
}

interface Peer {
  member: RingMember;
  client: QueryClient;
  limiter: Limiter;
  failures: CounterChild;
}

interface Batch {
  peer: Peer;
  step: number;
  from: number;
  until: number;
  waiters: Map<string, { resolve: (v: (number | null)[]) => void; reject: (e: unknown) => void }[]>;
}

/** A run of windows `[from, until)` one set of members is asked for (one member, or every member before history). */
interface Run {
  from: number;
  until: number;
  members: RingMember[];
  /** Where to read the run instead when a member cannot answer (shared store). */
  fallback: RingMember | undefined;
}

export class ClusterRead implements SeriesReader, SeriesFinder {
  private readonly peers = new Map<string, Peer>();
  private readonly batches = new Map<string, Batch>();
  private readonly requests = new AsyncLocalStorage<RequestState>();
  private readonly failures;
  private readonly partialAnswers;
  private readonly queueFull;

  constructor(
    private readonly schedule: () => RingSchedule,
    private readonly options: ClusterReadOptions,
    metrics: MetricsRegistry,
    private readonly logger: Logger,
  ) {
    this.failures = metrics.counter(
      'relay_query_shard_failures_total',
      'Calls to an accumulator for a read that failed or passed the deadline, by accumulator',
      ['accumulator'],
    );
    this.queueFull = metrics.counter(
      'relay_query_queue_full_total',
      'Read calls to an accumulator refused because query.max_queued already waited for it, by accumulator',
      ['accumulator'],
    );
    this.partialAnswers = metrics.counter(
      'relay_query_partial_answers_total',
      'Graphite API answers missing some accumulator, by whether they were sent (allowed) or refused (503)',
      ['outcome'],
    );
  }

  /** Runs one HTTP request's handling, so the members it missed are reported on its response. */
  async serve(res: ServerResponse, handle: () => Promise<boolean>): Promise<boolean> {
    const state: RequestState = { res, missing: new Set() };
    const handled = await this.requests.run(state, handle);
    if (state.missing.size > 0) this.partialAnswers.labels(this.options.allowPartial ? 'sent' : 'refused').inc();
    return handled;
  }

  /** Drops clients of members no longer in any version. */
  prune(): void {
    const ids = new Set(this.schedule().versions.flatMap((v) => v.members.map((m) => `${m.id}@${m.address}`)));
    for (const [key, peer] of this.peers)
      if (!ids.has(key)) {
        peer.client.close();
        this.peers.delete(key);
      }
  }

  close(): void {
    for (const peer of this.peers.values()) peer.client.close();
    this.peers.clear();
  }

  // ---- SeriesReader

  async fetch(name: string, resolution: Resolution, from: number, until: number): Promise<(number | null)[]> {
    const step = resolution.step;
    const count = Math.max(0, Math.round((until - from) / step));
    const values = new Array<number | null>(count).fill(null);
    const runs = this.runsOf(name, step, from, from + count * step);
    await Promise.all(
      runs.map(async (run) => {
        const offset = (run.from - from) / step;
        const answers = await Promise.all(run.members.map((member) => this.readRun(member, run, name, step)));
        for (const answer of answers)
          answer?.forEach((v, i) => {
            if (v !== null && values[offset + i] === null) values[offset + i] = v;
          });
      }),
    );
    return values;
  }

  /** One member's values for a run; on failure (recorded) the shared store's fallback, else nothing. */
  private async readRun(member: RingMember, run: Run, name: string, step: number): Promise<(number | null)[] | null> {
    try {
      return await this.fetchBatched(this.peer(member), name, step, run.from, run.until);
    } catch (error) {
      this.shardFailed(member, error);
      if (run.fallback === undefined || run.fallback.id === member.id) return null;
      try {
        return await this.fetchBatched(this.peer(run.fallback), name, step, run.from, run.until);
      } catch (again) {
        this.shardFailed(run.fallback, again);
        return null;
      }
    }
  }

  /** The runs of windows (starts in [from, until), aligned to `step`) by owner, from the ring's history. */
  private runsOf(name: string, step: number, from: number, until: number): Run[] {
    const versions = this.schedule().versions;
    if (versions.length === 0 || until <= from) return [];
    const hash = keyHashOfName(name);
    const latest = versions[versions.length - 1]!;
    const ownerIn = (version: PlacedRingVersion): RingMember | undefined => {
      const index = version.ring.lookup(hash);
      return index < 0 ? undefined : version.members[index];
    };
    const current = ownerIn(latest);
    const fallback = this.options.sharedStore ? current : undefined;
    const latestIds = new Set(latest.members.map((m) => m.id));
    const runs: Run[] = [];
    const push = (runFrom: number, runUntil: number, members: RingMember[]): void => {
      if (runUntil <= runFrom || members.length === 0) return;
      const last = runs[runs.length - 1];
      if (
        last &&
        last.until === runFrom &&
        last.members.length === 1 &&
        members.length === 1 &&
        last.members[0]!.id === members[0]!.id
      )
        last.until = runUntil;
      else runs.push({ from: runFrom, until: runUntil, members, fallback });
    };
    const align = (t: number): number => Math.min(until, Math.max(from, Math.ceil((t - from) / step) * step + from));
    const oldest = versions[0]!;
    // Before the oldest version kept: whoever of its members holds the window (or, shared, the current owner).
    if (oldest.effectiveFrom > from) {
      const members = this.options.sharedStore && current ? [current] : [...oldest.members];
      push(from, align(oldest.effectiveFrom), members);
    }
    versions.forEach((version, i) => {
      const next = versions[i + 1];
      const runFrom = i === 0 ? align(Math.max(from, version.effectiveFrom)) : align(version.effectiveFrom);
      const runUntil = next ? align(next.effectiveFrom) : until;
      let owner = ownerIn(version);
      // A member gone from the ring: with a shared store its flushed windows are read through the current owner.
      if (owner && this.options.sharedStore && !latestIds.has(owner.id) && current) owner = current;
      if (owner) push(runFrom, runUntil, [owner]);
    });
    return runs;
  }

  private fetchBatched(
    peer: Peer,
    name: string,
    step: number,
    from: number,
    until: number,
  ): Promise<(number | null)[]> {
    const key = `${peer.member.id}@${peer.member.address}|${step}|${from}|${until}`;
    let batch = this.batches.get(key);
    if (!batch) {
      const created: Batch = { peer, step, from, until, waiters: new Map() };
      this.batches.set(key, created);
      // Every series a render reads in this turn goes in one call (RenderContext starts its reads together).
      setImmediate(() => {
        this.batches.delete(key);
        this.send(created);
      });
      batch = created;
    }
    const found = batch.waiters.get(name);
    return new Promise((resolve, reject) => {
      if (found) found.push({ resolve, reject });
      else batch.waiters.set(name, [{ resolve, reject }]);
    });
  }

  private send(batch: Batch): void {
    const names = [...batch.waiters.keys()];
    for (let i = 0; i < names.length; i += this.options.maxSeriesPerRequest) {
      const chunk = names.slice(i, i + this.options.maxSeriesPerRequest);
      batch.peer.limiter
        .run(() => batch.peer.client.fetch(chunk, batch.step, batch.from, batch.until))
        .then(
          (series) => chunk.forEach((name, j) => batch.waiters.get(name)!.forEach((w) => w.resolve(series[j]!))),
          (error: unknown) => chunk.forEach((name) => batch.waiters.get(name)!.forEach((w) => w.reject(error))),
        );
    }
  }

  // ---- SeriesFinder: every member that may hold series, merged as unionFinder merges a store and an index

  find(query: string, limit: number): Promise<FoundNode[]> {
    return this.union().find(query, limit);
  }

  has(name: string): Promise<boolean> {
    return this.union().has(name);
  }

  names(limit: number): Promise<string[]> {
    return this.union().names(limit);
  }

  findTagged(expressions: Parameters<SeriesFinder['findTagged']>[0], limit: number): Promise<string[]> {
    return this.union().findTagged(expressions, limit);
  }

  tagNames(): Promise<string[]> {
    return this.union().tagNames();
  }

  /** Exact counts: the series holding the tag, merged over the members, counted once each. */
  async tagValues(tag: string): Promise<{ value: string; count: number }[]> {
    const names = await this.union().findTagged([hasTag(tag)], this.options.maxTagSeries);
    const counts = new Map<string, number>();
    for (const name of names) {
      const value = tagValueOf(name, tag);
      if (value !== undefined) counts.set(value, (counts.get(value) ?? 0) + 1);
    }
    return [...counts]
      .map(([value, count]) => ({ value, count }))
      .sort((a, b) => (a.value < b.value ? -1 : a.value > b.value ? 1 : 0));
  }

  /** Members asked for find and tags: every member of every version kept (whisper), the current ones (shared). */
  private finderMembers(): RingMember[] {
    const versions = this.schedule().versions;
    const chosen = this.options.sharedStore ? versions.slice(-1) : versions;
    const byId = new Map<string, RingMember>();
    for (const version of chosen) for (const member of version.members) byId.set(member.id, member);
    return [...byId.values()];
  }

  private union(): SeriesFinder {
    return unionFinder(this.finderMembers().map((member) => this.memberFinder(member)));
  }

  /** One member as a SeriesFinder whose failures are recorded and answer as "nothing here". */
  private memberFinder(member: RingMember): SeriesFinder {
    const peer = this.peer(member);
    const guard = async <T>(call: () => Promise<T>, empty: T): Promise<T> => {
      try {
        return await peer.limiter.run(call);
      } catch (error) {
        this.shardFailed(member, error);
        return empty;
      }
    };
    return {
      find: (query, limit) => guard(() => peer.client.find(query, limit), []),
      has: async (name) => (await guard(() => peer.client.has([name]), [false]))[0] ?? false,
      names: (limit) => guard(() => peer.client.names(limit), []),
      findTagged: (expressions, limit) =>
        guard(
          () =>
            peer.client.findTagged(
              expressions.map((e) => e.text),
              limit,
            ),
          [],
        ),
      tagNames: () => guard(() => peer.client.tagNames(), []),
      tagValues: () => Promise.reject(new Error('tagValues is answered from findTagged')),
    };
  }

  private peer(member: RingMember): Peer {
    const key = `${member.id}@${member.address}`;
    let peer = this.peers.get(key);
    if (!peer) {
      peer = {
        member,
        client: new QueryClient(
          member.address,
          this.options.timeoutMs,
          this.options.maxMessageBytes,
          this.options.security,
        ),
        limiter: new Limiter(this.options.concurrency, this.options.maxQueued, this.queueFull.labels(member.id)),
        failures: this.failures.labels(member.id),
      };
      this.peers.set(key, peer);
    }
    return peer;
  }

  /** A refusal is the client's error (400); anything else is a missing shard: counted, logged, reported. */
  private shardFailed(member: RingMember, error: unknown): void {
    if (error instanceof QueryRefusal) throw new QueryError(error.message);
    this.peer(member).failures.inc();
    const state = this.requests.getStore();
    const first = state !== undefined && !state.missing.has(member.id);
    if (first || state === undefined)
      this.logger.warn(
        { accumulator: member.id, address: member.address, err: error instanceof Error ? error.message : error },
        'accumulator did not answer a read: its windows are missing from the answer',
      );
    if (!state) return;
    state.missing.add(member.id);
    if (!this.options.allowPartial)
      throw new QueryError(
        `accumulator ${[...state.missing].join(', ')} did not answer (deadline ${this.options.timeoutMs} ms) and partial answers are off (query.allow_partial)`,
        503,
      );
    if (!state.res.headersSent) {
      const missing = [...state.missing].join(',');
      state.res.setHeader(PARTIAL_HEADER, missing);
      state.res.setHeader('warning', `199 carillon "partial answer: accumulators ${missing} did not answer"`);
    }
  }
}

/** `tag!=`: every series that has the tag (graphite's `!=` matches an absent tag only for a non-empty value). */
function hasTag(tag: string): Parameters<SeriesFinder['findTagged']>[0][number] {
  return {
    tag,
    operator: '!=',
    value: '',
    test: (v) => v !== '',
    requiresValue: true,
    text: `${tag}!=`,
  };
}
