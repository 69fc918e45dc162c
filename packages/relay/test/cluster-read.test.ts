/**
 * ClusterRead against real Query servers (the accumulator's handler over memory stores, on gRPC): a series read
 * over a range crossing three ring versions and the time before the oldest one gets each window from the member
 * that owned it, and nobody else is asked for it; a shared store reads a departed owner's windows through the
 * current owner; a member that does not answer is counted and its windows are empty.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  MetricsRegistry,
  createLogger,
  makeBatch,
  parseResolutions,
  statPointOf,
  type PendingSource,
} from '@carillon/core';
import { MemoryStore, SeriesIndex, indexFinder } from '@carillon/query';
import { RingSchedule, keyHashOfName, type RingMember, type RingVersion } from '@carillon/ring';
import { startIngestServer, type IngestServer, type QueryHandler } from '@carillon/transport';
import { queryHandler } from '@carillon/accumulator';
import { ClusterRead } from '@carillon/relay';

const resolutions = parseResolutions(['10s:1d']);
const resolution = resolutions[0]!;
const STEP = 10;
const now = Math.floor(Date.now() / 1000);
const base = Math.floor((now - 7200) / 600) * 600;
const NAMES = Array.from({ length: 40 }, (_, i) => `cr.unit.s${i}`);
const noPending: PendingSource = { pending: () => [] };
const valueAt = (name: string, time: number): number => (time - base) / STEP + NAMES.indexOf(name) * 1000;

interface Member {
  member: RingMember;
  store: MemoryStore;
  server: IngestServer;
  /** Series names each Fetch asked this member for. */
  asked: string[];
}

async function startMember(id: string): Promise<Member> {
  const store = new MemoryStore();
  const index = new SeriesIndex();
  const handler = queryHandler({
    finder: indexFinder(index),
    reader: store,
    pending: noPending,
    resolutions,
    aggregationRules: [],
  });
  const asked: string[] = [];
  const counting: QueryHandler = {
    ...handler,
    fetch: (names, step, from, until) => {
      asked.push(...names);
      return handler.fetch(names, step, from, until);
    },
  };
  const server = await startIngestServer(
    {
      host: '127.0.0.1',
      port: 0,
      maxMessageBytes: 1 << 20,
      keepaliveTimeMs: 30_000,
      keepaliveTimeoutMs: 5000,
      query: counting,
    },
    { process: () => undefined, durableSequence: () => 0, status: () => ({ memberId: id, ringVersion: 1, series: 0 }) },
    new MetricsRegistry(),
  );
  return { member: { id, address: `127.0.0.1:${server.port}` }, store, server, asked };
}

describe('ClusterRead', () => {
  let members: Member[];
  let schedule: RingSchedule;
  const byId = new Map<string, Member>();

  beforeAll(async () => {
    members = await Promise.all(['m-a', 'm-b', 'm-c', 'm-d'].map(startMember));
    for (const m of members) byId.set(m.member.id, m);
    const [a, b, c, d] = members.map((m) => m.member);
    // v1 {a,b} from base+600, v2 {a,b,c} from base+1200, v3 {a,c,d} (b left) from base+1800.
    const versions: RingVersion[] = [
      { version: 1, effectiveFrom: base + 600, members: [a!, b!] },
      { version: 2, effectiveFrom: base + 1200, members: [a!, b!, c!] },
      { version: 3, effectiveFrom: base + 1800, members: [a!, c!, d!] },
    ];
    schedule = new RingSchedule(versions);
    // Each window is stored where it was aggregated: its owner then; before v1, at v1's owner.
    for (let time = base; time < base + 2400; time += STEP)
      for (const name of NAMES) {
        const owner = schedule.ownerFor(keyHashOfName(name), time)!;
        await byId
          .get(owner.id)!
          .store.write(makeBatch(resolution, time, [[name, statPointOf(time, valueAt(name, time))]]));
      }
  });

  afterAll(async () => {
    await Promise.all(members.map((m) => m.server.close()));
  });

  const options = {
    timeoutMs: 1000,
    allowPartial: true,
    concurrency: 2,
    maxQueued: 1000,
    maxSeriesPerRequest: 7,
    maxMessageBytes: 1 << 24,
    maxTagSeries: 1000,
  };

  it('refuses read calls past query.max_queued per member, counted, and never waits without bound', async () => {
    const registry = new MetricsRegistry();
    const read = new ClusterRead(
      () => schedule,
      { ...options, concurrency: 1, maxQueued: 1, maxSeriesPerRequest: 1, sharedStore: false },
      registry,
      createLogger('t', 'silent'),
    );
    const from = base + 300;
    const until = base + 2400;
    const answers = await Promise.allSettled(NAMES.map((name) => read.fetch(name, resolution, from, until)));
    const refused = members.reduce((n, m) => n + registry.value('relay_query_queue_full_total', m.member.id), 0);
    expect(refused).toBeGreaterThan(0);
    // every call answered (a value or a refusal), none left waiting
    expect(answers.length).toBe(NAMES.length);
    read.close();
  });

  it('reads every window from its owner and asks nobody else', async () => {
    const read = new ClusterRead(
      () => schedule,
      { ...options, sharedStore: false },
      new MetricsRegistry(),
      createLogger('t', 'silent'),
    );
    for (const m of members) m.asked.length = 0;
    const from = base + 300;
    const until = base + 2400;
    const all = await Promise.all(NAMES.map((name) => read.fetch(name, resolution, from, until)));
    NAMES.forEach((name, n) => {
      const values = all[n]!;
      expect(values.length).toBe((until - from) / STEP);
      values.forEach((v, i) => expect(v, `${name}@${from + i * STEP}`).toBe(valueAt(name, from + i * STEP)));
    });
    // A member is asked for a series only if it owned one of its windows in the range (or, before the oldest
    // version, is a member of it: the pre-history question goes to all of v1).
    for (const m of members)
      for (const name of new Set(m.asked)) {
        const owned = [];
        for (let t = from; t < until; t += STEP) owned.push(schedule.ownerFor(keyHashOfName(name), t)!.id);
        const inPrehistory = ['m-a', 'm-b'].includes(m.member.id);
        expect(owned.includes(m.member.id) || inPrehistory, `${m.member.id} asked for ${name}`).toBe(true);
      }
    expect(byId.get('m-d')!.asked.length).toBeGreaterThan(0);
    read.close();
  });

  it('with a shared store, reads a departed owner through the current one', async () => {
    const read = new ClusterRead(
      () => schedule,
      { ...options, sharedStore: true },
      new MetricsRegistry(),
      createLogger('t', 'silent'),
    );
    for (const m of members) m.asked.length = 0;
    const from = base + 1200;
    const until = base + 1800;
    await Promise.all(NAMES.map((name) => read.fetch(name, resolution, from, until)));
    // m-b left in v3: with a shared store its windows are asked of each series' current owner instead.
    expect(byId.get('m-b')!.asked).toEqual([]);
    read.close();
  });

  it('counts a member that does not answer and leaves its windows empty', async () => {
    const registry = new MetricsRegistry();
    const down: RingMember = { id: 'm-down', address: '127.0.0.1:1' };
    const alone = new RingSchedule([{ version: 1, effectiveFrom: 0, members: [down] }]);
    const read = new ClusterRead(
      () => alone,
      { ...options, sharedStore: false },
      registry,
      createLogger('t', 'silent'),
    );
    const started = Date.now();
    const values = await read.fetch(NAMES[0]!, resolution, base, base + 100);
    expect(Date.now() - started).toBeLessThan(options.timeoutMs + 1000);
    expect(values).toEqual(new Array(10).fill(null));
    expect(registry.render()).toMatch(/relay_query_shard_failures_total\{accumulator="m-down"\} 1/);
    read.close();
  });
});
