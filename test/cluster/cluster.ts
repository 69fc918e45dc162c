/**
 * Cluster test parts: accumulators and relays as real processes on loopback, traffic with known values, what
 * each accumulator wrote (its StatPoint file), and the single-process oracle those writes must equal.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createConnection, type Socket } from 'node:net';
import { addSample, mergeStatPoint, statPointOf, windowStart, type StatPoint } from '@carillon/core';
import { parseStatPointLines, type StatPointRecord } from '@carillon/accumulator';
import type { Redis } from 'ioredis';
import { RingStore, type RingMember, type RingVersion, type StatsdPlacement } from '@carillon/ring';
import { freePort } from '../support/ports.js';
import { getText, startProgram, type RunningProgram } from '../e2e/programs.js';
import { waitFor } from '../support/wait.js';

export const ACCUMULATOR = 'services/accumulator/dist/main.js';
export const RELAY = 'services/relay/dist/main.js';
/** Finest 1 s (the flush interval), coarsest 5 s (ring versions switch on its boundaries). */
export const TIMES = '1s:1h,5s:1d';
export const STEPS = [1, 5];
export const GRACE = '1s';

export interface ClusterOptions {
  /** Redis membership; '' when `accumulators` lists the members. */
  redisUrl: string;
  prefix: string;
  root: string;
  /** A static member list (`id=host:port`), read by relays and accumulators alike, instead of Redis. */
  accumulators?: string[];
  /** `ring.placement` of every program (default carillon). */
  placement?: StatsdPlacement;
}

/** The membership keys: Redis, or the static list (`--set` takes a list comma-separated). */
function ringSource(cluster: ClusterOptions): Record<string, string> {
  const placement: Record<string, string> = cluster.placement ? { 'ring.placement': cluster.placement } : {};
  if (cluster.accumulators) return { accumulators: cluster.accumulators.join(','), ...placement };
  return { 'ring.redis_url': cluster.redisUrl, ...placement };
}

export interface Accumulator {
  id: string;
  dataDir: string;
  grpcPort: number;
  httpPort: number;
  program: RunningProgram;
  args: string[];
}

export async function startAccumulator(
  cluster: ClusterOptions,
  id: string,
  ports?: { grpc: number; http: number },
  /** More `--set` pairs (e.g. `wal.dir`), over the defaults here. */
  settings: Record<string, string> = {},
  /** How long it may take to log that it started (opening Cassandra under load takes longer). */
  readyTimeoutMs = 60_000,
): Promise<Accumulator> {
  const dataDir = join(cluster.root, id);
  mkdirSync(dataDir, { recursive: true });
  // Ports the test chose (a static member list names them) cannot be chosen again.
  return onFreePorts(ports === undefined ? 3 : 1, async () => {
    const grpcPort = ports?.grpc ?? (await freePort());
    const httpPort = ports?.http ?? (await freePort());
    const set = (pairs: Record<string, string>): string[] =>
      Object.entries(pairs).flatMap(([k, v]) => ['--set', `${k}=${v}`]);
    const args = set({
      'member.id': id,
      'member.address': `127.0.0.1:${grpcPort}`,
      'grpc.listen': `127.0.0.1:${grpcPort}`,
      'http.listen': `127.0.0.1:${httpPort}`,
      ...ringSource(cluster),
      'ring.prefix': cluster.prefix,
      'ring.propagation_delay': '2s',
      'ring.heartbeat_interval': '1s',
      'ring.heartbeat_ttl': '6s',
      'ring.poll_interval': '1s',
      times: TIMES,
      'aggregator.grace': GRACE,
      store: 'memory',
      'whisper.data_dir': dataDir,
      'statpoint_file.path': join(dataDir, 'statpoints.jsonl'),
      'durability.replay_wait': '3s',
      log_level: 'info',
      ...settings,
    });
    const program = await startProgram(ACCUMULATOR, args, 'accumulator started', readyTimeoutMs);
    return { id, dataDir, grpcPort, httpPort, program, args };
  });
}

/**
 * Starts a program on ports `freePort` found, again on new ones (at most `attempts` times in all) when one was
 * taken before the program bound it: a port is free when found, and another process (an outgoing connection's
 * ephemeral port, a parallel test file) may take it in between.
 */
async function onFreePorts<T>(attempts: number, start: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start();
    } catch (error) {
      if (attempt >= attempts || !String(error).includes('EADDRINUSE')) throw error;
    }
  }
}

/** The same member again (same id, ports and data directory), e.g. after a kill. */
/**
 * Accumulators with a static member list (no Redis) and one relay in front of them, all as processes under
 * `root`; every program is added to `running` (for the test's cleanup) as soon as it runs.
 */
export async function startStaticCluster(
  root: string,
  ids: readonly string[],
  running: { program: RunningProgram }[],
  placement?: StatsdPlacement,
  /** More `--set` pairs for every accumulator; `<dataDir>` in a value becomes the accumulator's data directory. */
  accumulatorSettings: Record<string, string> = {},
  /** More `--set` pairs for the relay (e.g. `spool.dir`). */
  relaySettings: Record<string, string> = {},
): Promise<{ accumulators: Accumulator[]; relay: Relay; members: RingMember[]; cluster: ClusterOptions }> {
  const ports = await Promise.all(ids.map(async () => ({ grpc: await freePort(), http: await freePort() })));
  const members = ids.map((id, i) => ({ id, address: `127.0.0.1:${ports[i]!.grpc}` }));
  const cluster: ClusterOptions = {
    redisUrl: '',
    prefix: 'carillon',
    root,
    accumulators: members.map((m) => `${m.id}=${m.address}`),
    ...(placement ? { placement } : {}),
  };
  const accumulators: Accumulator[] = [];
  for (const [i, id] of ids.entries()) {
    const dataDir = join(root, id);
    const settings = Object.fromEntries(
      Object.entries(accumulatorSettings).map(([k, v]) => [k, v.replaceAll('<dataDir>', dataDir)]),
    );
    const accumulator = await startAccumulator(cluster, id, ports[i], settings);
    accumulators.push(accumulator);
    running.push(accumulator);
  }
  const relay = await startRelay(cluster, relaySettings);
  running.push(relay);
  return { accumulators, relay, members, cluster };
}

export async function restartAccumulator(accumulator: Accumulator): Promise<Accumulator> {
  const program = await startProgram(ACCUMULATOR, accumulator.args, 'accumulator started', 60_000);
  return { ...accumulator, program };
}

export interface Relay {
  graphitePort: number;
  /** StatsD over TCP (ordered, nothing lost: what the tests send StatsD through). */
  statsdPort: number;
  httpPort: number;
  program: RunningProgram;
  args: string[];
}

/** The same relay again (same ports, spool and settings), e.g. after a kill. */
export async function restartRelay(relay: Relay): Promise<Relay> {
  const program = await startProgram(RELAY, relay.args, 'relay started', 60_000);
  return { ...relay, program };
}

export async function startRelay(
  cluster: ClusterOptions,
  /** More `--set` pairs over the defaults here (e.g. the cluster token and TLS, `spool.dir`, `query.*`). */
  settings: Record<string, string> = {},
): Promise<Relay> {
  return onFreePorts(3, async () => {
    const graphitePort = await freePort();
    const statsdPort = await freePort();
    const httpPort = await freePort();
    const pairs: Record<string, string> = {
      'graphite.tcp_listen': `127.0.0.1:${graphitePort}`,
      'graphite.udp_listen': '',
      'statsd.tcp_listen': `127.0.0.1:${statsdPort}`,
      'pickle.tcp_listen': '',
      'statsd.udp_listen': '',
      'http.listen': `127.0.0.1:${httpPort}`,
      ...ringSource(cluster),
      'ring.prefix': cluster.prefix,
      'ring.propagation_delay': '2s',
      'ring.poll_interval': '1s',
      times: TIMES,
      'link.backoff_initial': '50ms',
      'link.backoff_max': '1s',
      'link.max_batch_delay': '20ms',
      ...settings,
    };
    const args = Object.entries(pairs).flatMap(([k, v]) => ['--set', `${k}=${v}`]);
    const program = await startProgram(RELAY, args, 'relay started', 60_000);
    return { graphitePort, statsdPort, httpPort, program, args };
  });
}

/** An ordered TCP connection to a relay (Graphite or StatsD): lines for one key always travel in the order written. */
export class LineSender {
  private readonly socket: Socket;
  private failure: Error | undefined;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('error', (error) => (this.failure = error));
  }

  static open(port: number): Promise<LineSender> {
    return new Promise((resolve, reject) => {
      const socket = createConnection({ host: '127.0.0.1', port }, () => resolve(new LineSender(socket)));
      socket.setTimeout(10_000, () => socket.destroy(new Error('relay TCP connection idle for 10 s')));
      socket.once('error', reject);
    });
  }

  /** Resolves when the kernel took the bytes (back-pressure respected). */
  send(text: string): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => this.socket.write(text, (error) => (error ? reject(error) : resolve())));
  }

  /** Ends the connection; resolves at once if the relay already closed it (e.g. it was killed). */
  close(): Promise<void> {
    if (this.socket.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.socket.destroy(), 5000);
      this.socket.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      this.socket.end();
    });
  }
}

/** Points sent, in sending order per key: the oracle's input. */
export class Oracle {
  private readonly byKey = new Map<string, { timestamp: number; value: number }[]>();

  add(name: string, timestamp: number, value: number): void {
    let points = this.byKey.get(name);
    if (points === undefined) this.byKey.set(name, (points = []));
    points.push({ timestamp, value });
  }

  get pointCount(): number {
    let n = 0;
    for (const points of this.byKey.values()) n += points.length;
    return n;
  }

  /** `name|step|time` → StatPoint, as one process aggregates the same input (core StatPoint maths). */
  statPoints(steps: readonly number[]): Map<string, StatPoint> {
    const out = new Map<string, StatPoint>();
    const finest = steps[0]!;
    for (const [name, points] of this.byKey) {
      const fine = new Map<number, StatPoint>();
      for (const { timestamp, value } of points) {
        const start = windowStart(timestamp, finest);
        const point = fine.get(start);
        if (point === undefined) fine.set(start, statPointOf(start, value));
        else addSample(point, value);
      }
      const ordered = [...fine.values()].sort((a, b) => a.time - b.time);
      for (const step of steps) {
        const windows = new Map<number, StatPoint>();
        for (const point of ordered) {
          const start = windowStart(point.time, step);
          const window = windows.get(start) ?? { time: start, min: 0, max: 0, sum: 0, first: 0, last: 0, count: 0 };
          mergeStatPoint(window, point);
          windows.set(start, window);
        }
        for (const [start, window] of windows) out.set(`${name}|${step}|${start}`, window);
      }
    }
    return out;
  }
}

/** Every StatPoint an accumulator wrote (its file), keyed `name|step|time`. Duplicates are kept in `records`. */
export function writtenBy(accumulator: Accumulator): StatPointRecord[] {
  const path = join(accumulator.dataDir, 'statpoints.jsonl');
  return existsSync(path) ? parseStatPointLines(readFileSync(path, 'utf8')) : [];
}

export const keyOf = (r: StatPointRecord): string => `${r.name}|${r.step}|${r.time}`;

export function pointOf(r: StatPointRecord): StatPoint {
  return { time: r.time, min: r.min, max: r.max, sum: r.sum, first: r.first, last: r.last, count: r.count };
}

export interface Health {
  memberId: string;
  ringVersion: number;
  flushWatermark?: number;
  resumedAfter?: number;
  /** Set once a SIGTERM made it leave: when the version without it takes over. */
  leavingAt?: number;
}

/** The accumulator's /healthz counts, whether it is ready (200) or not (503, with its reasons). */
export async function healthOf(a: Accumulator): Promise<Health> {
  const response = await fetch(`http://127.0.0.1:${a.httpPort}/healthz`, { signal: AbortSignal.timeout(5000) });
  if (response.status !== 200 && response.status !== 503)
    throw new Error(`GET /healthz: ${response.status} ${await response.text()}`);
  return (await response.json()) as Health;
}

/** A counter or gauge (name without the `carillon_` prefix) from /metrics, summed over label sets matching `labels`. */
export async function metricValue(port: number, metric: string, labels = ''): Promise<number> {
  const name = `carillon_${metric}`;
  const text = await getText(`http://127.0.0.1:${port}/metrics`);
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (!(rest.startsWith(' ') || rest.startsWith('{'))) continue;
    if (labels && !rest.includes(labels)) continue;
    total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

/** Fails after `ms`: every wait of a cluster test is bounded. */
export function within<T>(what: string, promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** The latest ring version in Redis once it has exactly `ids` and is in force. */
export async function versionInForce(
  redis: Redis,
  prefix: string,
  ids: string[],
  timeoutMs = 30_000,
): Promise<RingVersion> {
  let found: RingVersion | undefined;
  await waitFor(
    `ring version with ${ids.join(',')} in force`,
    async () => {
      const versions = await new RingStore(redis, prefix).readVersions();
      const latest = versions[versions.length - 1];
      const same = latest && [...latest.members.map((m) => m.id)].sort().join() === [...ids].sort().join();
      if (same && latest.effectiveFrom <= Date.now() / 1000) found = latest;
      return found !== undefined;
    },
    timeoutMs,
    200,
  );
  return found!;
}
