import { createConnection } from 'node:net';
import { createSocket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, ConfigSource, MetricsRegistry, createLogger, parseMetricName } from '@carillon/core';
import { statsdCanonicalName } from '@carillon/protocols';
import { Placement, RingSchedule, murmur3String } from '@carillon/ring';
import { DEFAULT_LINK_OPTIONS, relayIdentityFromKey, startIngestServer, type IngestServer } from '@carillon/transport';
import { QUERY_KEYS } from '@carillon/query';
import { LineRouter, LinkPool, RELAY_SCHEMA, Relay, readRelayConfig, type RelayConfig } from '@carillon/relay';
import { RecordingHandler } from '../../../test/support/recording.js';
import { proxyRing } from '../../../test/support/proxy-ring.js';
import { waitFor } from '../../../test/support/wait.js';
import { pickleFrame } from '../../../test/support/pickle-frames.js';

const logger = createLogger('relay-test', 'silent');
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function accumulators(ids: string[]): Promise<{ id: string; handler: RecordingHandler; server: IngestServer }[]> {
  return Promise.all(
    ids.map(async (id) => {
      const handler = new RecordingHandler(id, { durableOnProcess: true });
      const server = await startIngestServer(
        { host: '127.0.0.1', port: 0, maxMessageBytes: 4 << 20, keepaliveTimeMs: 10_000, keepaliveTimeoutMs: 5000 },
        handler,
        new MetricsRegistry(),
      );
      cleanups.push(() => server.close());
      return { id, handler, server };
    }),
  );
}

function graphiteOwnerName(line: string): string {
  const key = parseMetricName(line.split(/\s+/)[0]!);
  if (typeof key === 'string') throw new Error(key);
  return key.canonical;
}

describe('relay', () => {
  it('sends every line to exactly the member the ring names, and counts rejected lines', async () => {
    const accs = await accumulators(['acc-a', 'acc-b', 'acc-c']);
    const members = accs.map((a) => `${a.id}=127.0.0.1:${a.server.port}`);
    const source = new ConfigSource(
      {},
      {},
      new Map([
        ['accumulators', members.join(',')],
        ['graphite.tcp_listen', '127.0.0.1:0'],
        ['graphite.udp_listen', ''],
        ['statsd.tcp_listen', ''],
        ['pickle.tcp_listen', ''],
        ['statsd.udp_listen', '127.0.0.1:0'],
        ['http.listen', '127.0.0.1:0'],
        ['link.max_batch_delay', '20ms'],
        ['link.close_timeout', '2s'],
      ]),
    );
    const config = readRelayConfig(source);
    const relay = await Relay.start(config, logger);
    cleanups.push(() => relay.stop());

    const now = Math.floor(Date.now() / 1000);
    const graphite: string[] = [];
    for (let i = 0; i < 3000; i++) graphite.push(`servers.host${i % 97}.cpu.core${i} ${i} ${now - (i % 50)}`);
    for (let i = 0; i < 30; i++) graphite.push(`tagged.metric;zone=z${i};dc=d1 ${i} -1`);
    for (let i = 0; i < 30; i++) graphite.push(`no.timestamp.m${i} ${i}`);
    const badGraphite = ['only.a.key', 'bad..path 1 1', 'a.b 1 12345678901234', 'a.b 1 2 3 4', 'a;=x 1 1'];
    await new Promise<void>((resolve, reject) => {
      const socket = createConnection(relay.ports.graphiteTcp!, '127.0.0.1', () => {
        socket.end([...graphite, ...badGraphite].join('\n') + '\n', () => resolve());
      });
      socket.on('error', reject);
    });
    const statsd: string[] = [];
    for (let i = 0; i < 300; i++) statsd.push(`app.requests.r${i}:1|c`);
    for (let i = 0; i < 20; i++) statsd.push(`app.tagged${i}:5|ms|#env:prod,svc:api`);
    const badStatsd = ['no-colon', 'app.x:1', '..bad:1|c'];
    const udp = createSocket('udp4');
    for (let i = 0; i < statsd.length; i += 20) {
      await new Promise<void>((resolve) =>
        udp.send(statsd.slice(i, i + 20).join('\n'), relay.ports.statsdUdp, '127.0.0.1', () => resolve()),
      );
    }
    await new Promise<void>((resolve) =>
      udp.send(badStatsd.join('\n'), relay.ports.statsdUdp, '127.0.0.1', () => resolve()),
    );
    udp.close();

    const total = graphite.length + statsd.length;
    const received = (): number => accs.reduce((n, a) => n + a.handler.lines().length, 0);
    await waitFor('every line', () => received() === total);

    const schedule = RingSchedule.fixed(
      accs.map((a) => ({ id: a.id, address: `127.0.0.1:${a.server.port}` })),
      { replicas: config.ring.replicas },
    );
    const graphiteSet = new Set(graphite);
    const perDestination: Record<string, number> = {};
    for (const acc of accs) {
      perDestination[acc.id] = acc.handler.lines().length;
      for (const batch of acc.handler.batches) {
        // Each ingest thread sends under its own identity.
        expect(relay.relayIds).toContain(batch.relayId);
        expect(batch.ringVersion).toBe(1);
        for (const line of batch.lines.toString().split('\n').slice(0, -1)) {
          const name =
            batch.format === 'graphite'
              ? graphiteOwnerName(line)
              : (statsdCanonicalName(line) as { name: string }).name;
          expect(graphiteSet.has(line)).toBe(batch.format === 'graphite');
          expect(schedule.ownerFor(murmur3String(name), now)?.id).toBe(acc.id);
        }
      }
    }
    // All three receive a share, each line exactly once.
    expect(Object.values(perDestination).every((n) => n > 0)).toBe(true);
    const all = accs.flatMap((a) => a.handler.lines()).sort();
    expect(all).toEqual([...graphite, ...statsd].sort());

    await relay.collectMetrics();
    const m = relay.metrics;
    expect(m.value('lines_accepted_total', 'graphite')).toBe(graphite.length);
    expect(m.value('lines_rejected_total', 'graphite', 'malformed_line')).toBe(2);
    expect(m.value('lines_rejected_total', 'graphite', 'invalid_path')).toBe(1);
    expect(m.value('lines_rejected_total', 'graphite', 'invalid_timestamp')).toBe(1);
    expect(m.value('lines_rejected_total', 'graphite', 'invalid_tag')).toBe(1);
    expect(m.value('lines_accepted_total', 'statsd')).toBe(statsd.length);
    expect(m.value('lines_rejected_total', 'statsd', 'malformed_line')).toBe(2);
    expect(m.value('lines_rejected_total', 'statsd', 'invalid_path')).toBe(1);
    for (const acc of accs) expect(m.value('relay_link_lines_total', acc.id)).toBe(perDestination[acc.id]);

    const ring = (await (await fetch(`http://127.0.0.1:${relay.ports.http}/ring`)).json()) as {
      current: { version: number; members: { id: string }[] };
      destinations: { destination: string; connected: boolean }[];
    };
    expect(ring.current.version).toBe(1);
    expect(ring.current.members.map((x) => x.id).sort()).toEqual(['acc-a', 'acc-b', 'acc-c']);
    expect(ring.destinations.every((d) => d.connected)).toBe(true);
    const metricsText = await (await fetch(`http://127.0.0.1:${relay.ports.http}/metrics`)).text();
    expect(metricsText).toContain('carillon_relay_link_lines_total{destination="acc-a"}');
    expect((await fetch(`http://127.0.0.1:${relay.ports.http}/healthz`)).status).toBe(200);
  });

  it("with statsd-proxy placement, sends each StatsD key where the reference proxy's hashring sends it", async () => {
    // Ids are the StatsD proxy's node names (host:port of the daemons it used to feed), in its `nodes` order.
    const nodeNames = ['statsd-a:8125', 'statsd-b:8125', 'statsd-c:8125'];
    const accs = await accumulators(nodeNames);
    const source = new ConfigSource(
      {},
      {},
      new Map([
        ['accumulators', accs.map((a) => `${a.id}=127.0.0.1:${a.server.port}`).join(',')],
        ['ring.placement', 'statsd-proxy'],
        ['graphite.tcp_listen', ''],
        ['graphite.udp_listen', ''],
        ['statsd.tcp_listen', ''],
        ['pickle.tcp_listen', ''],
        ['statsd.udp_listen', '127.0.0.1:0'],
        ['http.listen', ''],
        ['link.max_batch_delay', '20ms'],
        ['link.close_timeout', '2s'],
      ]),
    );
    const relay = await Relay.start(readRelayConfig(source), logger);
    cleanups.push(() => relay.stop());

    const lines: string[] = [];
    for (let i = 0; i < 2000; i++) lines.push(`proxy.key${i}.${'x'.repeat(1 + (i % 7))}:${i}|c`);
    lines.push('tagged.proxy;env=prod:1|ms', 'dog.proxy:2|g|#host:a', 'héllo.wörld:1|c');
    const udp = createSocket('udp4');
    for (let i = 0; i < lines.length; i += 25) {
      await new Promise<void>((resolve) =>
        udp.send(lines.slice(i, i + 25).join('\n'), relay.ports.statsdUdp, '127.0.0.1', () => resolve()),
      );
    }
    udp.close();
    await waitFor('every line', () => accs.reduce((n, a) => n + a.handler.lines().length, 0) === lines.length);
    const reference = proxyRing(nodeNames);
    for (const acc of accs) {
      expect(acc.handler.lines().length).toBeGreaterThan(0);
      for (const line of acc.handler.lines()) expect(reference.get(line.slice(0, line.indexOf(':')))).toBe(acc.id);
    }
  });

  it('refuses statsd-proxy placement with Redis membership, naming the key', () => {
    const source = new ConfigSource({ ring: { placement: 'statsd-proxy', redis_url: 'redis://127.0.0.1:6379' } });
    expect(() => readRelayConfig(source)).toThrowError('config: ring.placement: statsd-proxy placement needs');
  });

  it('routes each point by the ring version in force for its own timestamp', async () => {
    const accs = await accumulators(['v-a', 'v-b', 'v-c']);
    const address = (i: number): string => `127.0.0.1:${accs[i]!.server.port}`;
    const boundary = 1_700_000_400;
    const schedule = new RingSchedule([
      {
        version: 1,
        effectiveFrom: 0,
        members: [
          { id: 'v-a', address: address(0) },
          { id: 'v-b', address: address(1) },
        ],
      },
      {
        version: 2,
        effectiveFrom: boundary,
        members: [
          { id: 'v-b', address: address(1) },
          { id: 'v-c', address: address(2) },
        ],
      },
    ]);
    const metrics = new MetricsRegistry();
    const pool = new LinkPool(
      relayIdentityFromKey(Buffer.alloc(32, 1), 'test-relay', 1),
      { ...DEFAULT_LINK_OPTIONS, maxBatchDelayMs: 10, closeTimeoutMs: 1000 },
      metrics,
    );
    cleanups.push(() => pool.close());
    pool.update(schedule);
    const router = new LineRouter(new Placement({ schedule: () => schedule }), pool, metrics);
    const lines: string[] = [];
    for (let i = 0; i < 400; i++) lines.push(`r.m${i} 1 ${boundary - 300 + i * 2}`);
    for (const line of lines) {
      const buf = Buffer.from(`junk${line}junk`);
      router.graphiteLine(buf, 4, buf.length - 4);
    }
    await waitFor('every line', () => accs.reduce((n, a) => n + a.handler.lines().length, 0) === lines.length);
    let sawBoth = 0;
    for (const acc of accs)
      for (const batch of acc.handler.batches)
        for (const line of batch.lines.toString().split('\n').slice(0, -1)) {
          const [name, , ts] = line.split(' ');
          const time = Number(ts);
          expect(schedule.ownerFor(murmur3String(name!), time)?.id).toBe(acc.id);
          expect(batch.ringVersion).toBe(time >= boundary ? 2 : 1);
          sawBoth |= time >= boundary ? 2 : 1;
        }
    expect(sawBoth).toBe(3);
    expect(accs[0]!.handler.lines().length).toBeGreaterThan(0);
    expect(accs[2]!.handler.lines().length).toBeGreaterThan(0);
  });
  it('sends a name with invalid UTF-8 to the member the accumulator judges its owner', async () => {
    const accs = await accumulators(['u-a', 'u-b']);
    const schedule = RingSchedule.fixed(accs.map((a) => ({ id: a.id, address: `127.0.0.1:${a.server.port}` })));
    const placement = new Placement({ schedule: () => schedule });
    const metrics = new MetricsRegistry();
    const pool = new LinkPool(
      relayIdentityFromKey(Buffer.alloc(32, 2), 'test-relay', 1),
      { ...DEFAULT_LINK_OPTIONS, maxBatchDelayMs: 10 },
      metrics,
    );
    cleanups.push(() => pool.close());
    pool.update(schedule);
    const router = new LineRouter(placement, pool, metrics);
    // Lone continuation, truncated, overlong, UTF-8-encoded surrogate, 0xFF, and one valid for contrast.
    const invalid = [[0x80], [0xe2, 0x82], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xff], [0xc3, 0xa9]];
    const sent: Buffer[] = [];
    for (let i = 0; i < 120; i++)
      sent.push(
        Buffer.concat([Buffer.from(`u.h${i}.`), Buffer.from(invalid[i % invalid.length]!), Buffer.from(` 1 1000`)]),
      );
    for (const line of sent) router.graphiteLine(line, 0, line.length);
    await waitFor(
      'every invalid-UTF-8 line delivered',
      () => accs.reduce((n, a) => n + a.handler.lines().length, 0) === sent.length,
    );
    const owners = new Set<string>();
    for (const acc of accs)
      for (const batch of acc.handler.batches)
        for (const line of batch.lines.toString('utf8').split('\n').slice(0, -1)) {
          // What the accumulator's ownership check computes: the name of the decoded line.
          const name = line.split(' ')[0]!;
          expect(placement.graphiteOwner(name, 1000).member?.id, name).toBe(acc.id);
          owners.add(acc.id);
        }
    expect(owners.size).toBe(2);
  });

  it('routes the points of pickle frames as Graphite lines to their owners, and counts a refused frame', async () => {
    const accs = await accumulators(['pk-a', 'pk-b']);
    const source = new ConfigSource(
      {},
      {},
      new Map([
        ['accumulators', accs.map((a) => `${a.id}=127.0.0.1:${a.server.port}`).join(',')],
        ['graphite.tcp_listen', ''],
        ['graphite.udp_listen', ''],
        ['statsd.tcp_listen', ''],
        ['statsd.udp_listen', ''],
        ['pickle.tcp_listen', '127.0.0.1:0'],
        ['http.listen', ''],
        ['link.max_batch_delay', '20ms'],
      ]),
    );
    const config = readRelayConfig(source);
    const registry = new MetricsRegistry();
    const relay = await Relay.start(config, logger, registry);
    cleanups.push(() => relay.stop());
    const now = Math.floor(Date.now() / 1000);
    const points = Array.from({ length: 200 }, (_, i) => ({ path: `pk.host${i % 9}.m${i}`, timestamp: now, value: i }));
    const bad = Buffer.from("cos\nsystem\n(S'x'\ntR.", 'latin1');
    const stream = Buffer.concat([
      pickleFrame(points.slice(0, 120)),
      Buffer.concat([Buffer.from([0, 0, 0, bad.length]), bad]),
      pickleFrame(points.slice(120)),
    ]);
    await new Promise<void>((resolve, reject) => {
      const socket = createConnection(relay.ports.pickleTcp!, '127.0.0.1', () => socket.end(stream, () => resolve()));
      socket.on('error', reject);
    });
    const lines = (): string[] => accs.flatMap((a) => a.handler.lines());
    await waitFor('every pickled point', () => lines().length === points.length);
    const schedule = RingSchedule.fixed(
      accs.map((a) => ({ id: a.id, address: `127.0.0.1:${a.server.port}` })),
      { replicas: config.ring.replicas },
    );
    for (const acc of accs)
      for (const line of acc.handler.lines())
        expect(schedule.ownerFor(murmur3String(line.split(' ')[0]!), now)?.id).toBe(acc.id);
    expect(lines().sort()).toEqual(points.map((p) => `${p.path} ${p.value} ${p.timestamp}`).sort());
    await relay.collectMetrics();
    expect(registry.value('lines_rejected_total', 'pickle', 'invalid_pickle')).toBe(1);
    expect(registry.value('pickle_frames_rejected_total', 'unsafe_opcode')).toBe(1);
  });
});

describe('relay config', () => {
  const read = (pairs: Record<string, string>, file = {}): unknown =>
    readRelayConfig(new ConfigSource(file, {}, new Map(Object.entries(pairs))));
  const keyOf = (pairs: Record<string, string>, file = {}): string => {
    try {
      read(pairs, file);
    } catch (error) {
      if (error instanceof ConfigError) return error.key;
      throw error;
    }
    throw new Error('no ConfigError');
  };

  it('names the key of every bad value', () => {
    expect(keyOf({})).toBe('accumulators');
    expect(keyOf({ accumulators: 'a=h:1', 'ring.redis_url': 'redis://x' })).toBe('accumulators');
    expect(keyOf({ accumulators: 'a=nohost' })).toBe('accumulators[0]');
    expect(keyOf({ accumulators: 'a=h:1,a=h:2' })).toBe('accumulators[1]');
    expect(keyOf({ accumulators: 'a=h:1', 'link.max_batch_bytes': '100' })).toBe('link.max_batch_bytes');
    expect(keyOf({ accumulators: 'a=h:1', 'link.max_unacked_bytes': '300000' })).toBe('link.max_unacked_bytes');
    expect(keyOf({ accumulators: 'a=h:1', 'link.max_batch_delay': 'soon' })).toBe('link.max_batch_delay');
    expect(keyOf({ accumulators: 'a=h:1', 'link.max_batch_delay': '0ms' })).toBe('link.max_batch_delay');
    expect(keyOf({ accumulators: 'a=h:1', 'link.backoff_initial': '2s', 'link.backoff_max': '1s' })).toBe(
      'link.backoff_max',
    );
    expect(keyOf({ accumulators: 'a=h:1', times: '10s:1h,15s:2h' })).toBe('times[1]');
    expect(keyOf({ accumulators: 'a=h:1' }, { link: { max_batch_byte: 1 } })).toBe('link.max_batch_byte');
  });

  it('reads link durations as milliseconds', () => {
    const config = read({ accumulators: 'a=h:1', 'link.max_batch_delay': '20ms', 'link.backoff_initial': '1s' });
    expect((config as RelayConfig).link).toMatchObject({ maxBatchDelayMs: 20, backoffInitialMs: 1000 });
  });

  it("reads the render workers and budgets from an accumulator's [query] keys, beside its own query keys", () => {
    const config = read({
      accumulators: 'a=h:1',
      'query.max_queued': '5',
      'query.render_max_queued': '7',
      'query.render_workers': '3',
      'query.render_time_budget': '2s',
      'query.render_max_series': '42',
    }) as RelayConfig;
    expect(config.query).toMatchObject({
      maxQueued: 5,
      maxSeriesPerRender: 42,
      render: { workers: 3, timeBudgetMs: 2000, maxQueued: 7, workerNice: 10 },
    });
    expect(keyOf({ accumulators: 'a=h:1', 'query.render_time_budget': '1ms' })).toBe('query.render_time_budget');
    // each key once: the relay's own query keys and the render keys are distinct names
    const keys = RELAY_SCHEMA.map((k) => k.key);
    expect(new Set(keys).size).toBe(keys.length);
    expect(keys).toEqual(expect.arrayContaining(Object.values(QUERY_KEYS).map((k) => k.key)));
  });

  it('takes the ring step from the coarsest resolution, with the aggregator default times', () => {
    const config = read({ 'ring.redis_url': 'redis://127.0.0.1:6379' }) as RelayConfig;
    expect(config.ringStepSeconds).toBe(600);
  });
});
