/**
 * Health that tells the truth (issue 13), with a redis-server this test starts itself on a free port:
 * - a relay and an accumulator started before Redis wait for it (live, not ready, saying why), join when it
 *   comes, and a line sent through the relay reaches the accumulator;
 * - the accumulator's readiness goes false with the reason when Redis goes away, when its state directory (the
 *   flush watermark's) is unwritable, and when its store is (whisper files under a data directory that became a
 *   file), and back to ready when each returns.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ACCUMULATOR, RELAY } from '../cluster/cluster.js';
import { startBusyLoops } from '../support/contention.js';
import { freePort } from '../support/ports.js';
import { waitFor } from '../support/wait.js';
import { getText, metricValue, sendTcp, startProgram, type RunningProgram } from '../e2e/programs.js';

interface Health {
  status: string;
  reasons: Record<string, string>;
}

async function health(port: number, path: '/readyz' | '/livez'): Promise<{ code: number; body: Health }> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(5000) });
  return { code: response.status, body: (await response.json()) as Health };
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** A redis-server of this test's own; fails clearly when none is installed. */
async function startRedis(port: number, dir: string): Promise<ChildProcess> {
  const child = spawn(
    'redis-server',
    ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no', '--dir', dir],
    {
      stdio: 'ignore',
    },
  );
  const failed = new Promise<never>((_, reject) =>
    child.once('error', (error) =>
      reject(new Error(`redis-server could not start (is it installed?): ${error.message}`)),
    ),
  );
  await Promise.race([waitFor(`redis-server on ${port}`, () => canConnect(port), 10_000, 50), failed]);
  return child;
}

async function stopRedis(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

describe('readiness', () => {
  const root = mkdtempSync(join(tmpdir(), 'carillon-ready-'));
  const running: RunningProgram[] = [];
  let redis: ChildProcess | undefined;
  const contention = startBusyLoops(2, 300_000);

  afterAll(async () => {
    contention.stop();
    for (const program of running.reverse()) await program.stop();
    await stopRedis(redis);
    rmSync(root, { recursive: true, force: true });
  });

  it('waits for Redis, joins when it comes, and tells when Redis, state or store fail', async () => {
    const redisPort = await freePort();
    const redisDir = join(root, 'redis');
    mkdirSync(redisDir);
    const ports = {
      grpc: await freePort(),
      accHttp: await freePort(),
      graphite: await freePort(),
      relayHttp: await freePort(),
    };
    const dataDir = join(root, 'whisper');
    const stateDir = join(root, 'state');
    const common = {
      'ring.redis_url': `redis://127.0.0.1:${redisPort}`,
      'ring.prefix': 'ready',
      'ring.propagation_delay': '2s',
      'ring.poll_interval': '1s',
      times: '1s:1h,5s:1d',
    };
    const set = (pairs: Record<string, string>): string[] =>
      Object.entries(pairs).flatMap(([k, v]) => ['--set', `${k}=${v}`]);
    const waiting = 'Redis not reachable at start';

    // Both programs first, Redis later.
    const relay = await startProgram(
      RELAY,
      set({
        ...common,
        'graphite.tcp_listen': `127.0.0.1:${ports.graphite}`,
        'graphite.udp_listen': '',
        'statsd.tcp_listen': '',
        'statsd.udp_listen': '',
        'pickle.tcp_listen': '',
        'http.listen': `127.0.0.1:${ports.relayHttp}`,
        'link.backoff_initial': '50ms',
        'link.backoff_max': '1s',
        'link.max_batch_delay': '20ms',
      }),
      waiting,
    );
    running.push(relay);
    const accumulator = await startProgram(
      ACCUMULATOR,
      set({
        ...common,
        'member.id': 'acc-0',
        'member.address': `127.0.0.1:${ports.grpc}`,
        'grpc.listen': `127.0.0.1:${ports.grpc}`,
        'http.listen': `127.0.0.1:${ports.accHttp}`,
        'ring.heartbeat_interval': '1s',
        'ring.heartbeat_ttl': '3s',
        'aggregator.grace': '1s',
        'aggregator.series_idle_timeout': '1h',
        store: 'whisper',
        'whisper.data_dir': dataDir,
        'wal.dir': '',
        'durability.watermark_file': join(stateDir, 'flush-watermark.json'),
        'durability.replay_wait': '1s',
        log_level: 'info',
      }),
      waiting,
    );
    running.push(accumulator);

    // The relay answers while it waits: alive, not ready, and why.
    await waitFor('the relay HTTP port', () => canConnect(ports.relayHttp), 10_000, 50);
    expect((await health(ports.relayHttp, '/livez')).code).toBe(200);
    const waitingRelay = await health(ports.relayHttp, '/readyz');
    expect(waitingRelay.code).toBe(503);
    expect(waitingRelay.body.reasons.membership).toBe('waiting for Redis');

    redis = await startRedis(redisPort, redisDir);
    const ready = async (port: number): Promise<boolean> =>
      (await canConnect(port)) && (await health(port, '/readyz')).code === 200;
    await waitFor('the accumulator ready once Redis came', () => ready(ports.accHttp), 60_000, 200);
    await waitFor('the relay ready once Redis came', () => ready(ports.relayHttp), 30_000, 200);
    // And joined: a line through the relay reaches the accumulator (once the relay's ring holds it).
    await waitFor(
      'a line through the relay accepted by the accumulator',
      async () => {
        await sendTcp(ports.graphite, 'ready.through.relay 1\n');
        return (
          metricValue(
            await getText(`http://127.0.0.1:${ports.accHttp}/metrics`),
            'carillon_lines_accepted_total',
            '{protocol="graphite"}',
          ) > 0
        );
      },
      30_000,
      500,
    );

    const notReadyFor = async (check: string): Promise<string> => {
      let reason = '';
      await waitFor(
        `readiness false for ${check}`,
        async () => {
          const { code, body } = await health(ports.accHttp, '/readyz');
          reason = body.reasons[check] ?? '';
          return code === 503 && reason !== '';
        },
        30_000,
        200,
      );
      return reason;
    };
    const backToReady = (what: string): Promise<void> =>
      waitFor(`ready again after ${what}`, () => ready(ports.accHttp), 60_000, 200);

    // Redis goes away, then comes back on the same port.
    await stopRedis(redis);
    expect(await notReadyFor('membership')).toMatch(/Redis has not answered/);
    expect((await health(ports.accHttp, '/livez')).code).toBe(200);
    redis = await startRedis(redisPort, redisDir);
    await backToReady('Redis returned');

    // The state directory becomes unwritable (a file where it was: root ignores permissions).
    const stateKey = `state_dir:${stateDir}`;
    renameSync(stateDir, `${stateDir}.away`);
    writeFileSync(stateDir, 'not a directory');
    expect(await notReadyFor(stateKey)).toMatch(/not writable/);
    rmSync(stateDir);
    renameSync(`${stateDir}.away`, stateDir);
    await backToReady('the state directory returned');

    // The store fails: the data directory becomes a file, and a new series cannot be written.
    renameSync(dataDir, `${dataDir}.away`);
    writeFileSync(dataDir, 'not a directory');
    await sendTcp(ports.graphite, 'ready.store.down 1\n');
    expect(await notReadyFor('writers')).toMatch(/failed to store/);
    rmSync(dataDir);
    renameSync(`${dataDir}.away`, dataDir);
    await backToReady('the store returned');
  }, 300_000);
});
