/**
 * A relay with two ingest worker threads (`relay.workers = 2`) in front of two accumulators, under CPU contention:
 * Graphite lines over many TCP connections and UDP sockets (the kernel spreads them over the workers' shared
 * ports) all arrive exactly once, every (key, window) at both resolutions equal to the single-process oracle; the
 * counters on the relay's /metrics (merged from the workers) equal the lines sent; both workers sent, each under
 * its own relay identity; and a restart on the same spool keeps each worker's identity, also when fewer threads
 * are asked for than the spool has worker spools.
 */
import { createSocket, type Socket } from 'node:dgram';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { windowStart } from '@carillon/core';
import { getJson, startProgram } from '../e2e/programs.js';
import { freePort } from '../support/ports.js';
import { waitFor } from '../support/wait.js';
import {
  LineSender,
  RELAY,
  STEPS,
  healthOf,
  metricValue,
  restartRelay,
  startStaticCluster,
  type Relay,
} from './cluster.js';
import { SecondlyTraffic, type TextSender } from './traffic.js';
import { NO_PROBLEMS, collectWritten, compareWithOracle } from './written.js';
import { useClusterWorkspace } from './workspace.js';

const COARSE = STEPS[STEPS.length - 1]!;
const TCP_CONNECTIONS = 16;
const UDP_SOCKETS = 4;

/** One datagram per send, from its own source port (so the kernel may pick either worker's socket). */
class DatagramSender implements TextSender {
  private readonly socket: Socket = createSocket('udp4');
  constructor(private readonly port: number) {}
  send(text: string): Promise<void> {
    return new Promise((resolve, reject) =>
      this.socket.send(text, this.port, '127.0.0.1', (error) => (error ? reject(error) : resolve())),
    );
  }
  close(): void {
    this.socket.close();
  }
}

interface RingPage {
  destinations: { destination: string; queuedBatches: number }[];
  workers: { relayId: string; destinations: { destination: string; lastSequence: number }[] }[];
}

const relayIdsOf = async (relay: Relay): Promise<string[]> =>
  (await getJson<RingPage>(`http://127.0.0.1:${relay.httpPort}/ring`)).workers.map((w) => w.relayId).sort();

describe('cluster: a relay with two ingest workers', () => {
  const { root, running, contend } = useClusterWorkspace('relayworkers');
  const contention = contend(2, 60_000);

  it('delivers every TCP and UDP line exactly once, counts them all, and keeps each identity over a restart', async () => {
    const spoolDir = join(root, 'spool');
    const udpPort = await freePort();
    const { accumulators, relay: first } = await startStaticCluster(
      root,
      ['rw-0', 'rw-1'],
      running,
      undefined,
      {},
      {
        'relay.workers': '2',
        'spool.dir': spoolDir,
        'graphite.udp_listen': `127.0.0.1:${udpPort}`,
        'graphite.udp_receive_buffer_bytes': String(4 << 20),
      },
    );
    let relay: Relay = first;
    const tcp = await Promise.all(Array.from({ length: TCP_CONNECTIONS }, () => LineSender.open(relay.graphitePort)));
    const udp = Array.from({ length: UDP_SOCKETS }, () => new DatagramSender(udpPort));
    const keys = (kind: string, route: number, count: number): string[] =>
      Array.from({ length: count }, (_, i) => `rw.${kind}${route}.host${i % 7}.m${i}`);
    const traffic = new SecondlyTraffic([
      ...tcp.map((sender, i) => ({ sender: () => sender, keys: keys('tcp', i, 60) })),
      ...udp.map((sender, i) => ({ sender: () => sender, keys: keys('udp', i, 20) })),
    ]);
    await traffic.run(12);
    await Promise.all(tcp.map((s) => s.close()));
    for (const s of udp) s.close();
    const sent = traffic.sent.reduce((a, b) => a + b, 0);
    expect(sent).toBe(12 * (TCP_CONNECTIONS * 60 + UDP_SOCKETS * 20));

    // The workers' counters, merged on the main thread's /metrics, add up to exactly what was sent.
    await waitFor(
      'the relay to accept every line sent',
      async () => (await metricValue(relay.httpPort, 'lines_accepted_total', 'protocol="graphite"')) >= sent,
      20_000,
    );
    expect(await metricValue(relay.httpPort, 'lines_accepted_total', 'protocol="graphite"')).toBe(sent);
    expect(await metricValue(relay.httpPort, 'listener_datagrams_received_total')).toBe(12 * UDP_SOCKETS);
    expect(await metricValue(relay.httpPort, 'listener_connections_total', 'transport="tcp"')).toBe(TCP_CONNECTIONS);
    await waitFor(
      'every line on a link',
      async () => (await metricValue(relay.httpPort, 'relay_link_lines_total')) === sent,
      20_000,
    );

    // Both workers sent batches, each under its own identity.
    const ring = await getJson<RingPage>(`http://127.0.0.1:${relay.httpPort}/ring`);
    // One entry per member, merged over the workers.
    expect(ring.destinations.map((d) => d.destination).sort()).toEqual(['rw-0', 'rw-1']);
    const senders = ring.workers.filter((w) => w.destinations.some((d) => d.lastSequence > 0));
    expect(senders).toHaveLength(2);
    const ids = await relayIdsOf(relay);
    expect(ids).toHaveLength(2);
    expect(existsSync(join(spoolDir, 'relay-identity'))).toBe(true);
    expect(existsSync(join(spoolDir, 'w1', 'relay-identity'))).toBe(true);

    // A stop and a start on the same spool: the same two identities.
    await relay.program.stop();
    relay = await restartRelay(relay);
    running.push(relay);
    expect(await relayIdsOf(relay)).toEqual(ids);
    // Fewer threads asked for than the spool has worker spools: it still runs both, so w1's spool is replayed.
    await relay.program.stop();
    relay = {
      ...relay,
      program: await startProgram(RELAY, [...relay.args, '--set', 'relay.workers=1'], 'relay started'),
    };
    running.push(relay);
    expect(await relayIdsOf(relay)).toEqual(ids);

    contention.stop();
    const through = windowStart(traffic.lastSecond, COARSE) + COARSE;
    for (const a of accumulators)
      await waitFor(
        `${a.id} flushed through ${through}`,
        async () => ((await healthOf(a)).flushWatermark ?? 0) >= through,
        40_000,
        200,
      );
    for (const a of accumulators) {
      expect(await metricValue(a.httpPort, 'aggregator_late_points_total')).toBe(0);
      expect(await metricValue(a.httpPort, 'accumulator_misrouted_points_total')).toBe(0);
    }
    const { problems, counts } = compareWithOracle(collectWritten(accumulators), traffic.oracle.statPoints(STEPS));
    expect({ problems, counts }).toEqual({
      problems: NO_PROBLEMS,
      counts: { twoOwners: 0, wrong: 0, missing: 0, extra: 0 },
    });
    expect(traffic.oracle.pointCount).toBe(sent);
    await Promise.all([...accumulators.map((a) => a.program.stop()), relay.program.stop()]);
  }, 150_000);
});
