/**
 * The relay's spool in process, against real ingest servers: a relay stopped while batches are processed but not
 * durable leaves them in its spool, and the next relay on the same directory sends them again under the same
 * relay id and sequences, so the servers drop the ones they had; every line reaches its member exactly once.
 * Also: the records round-trip, and segments go once everything in them is durable.
 */
import { createConnection } from 'node:net';
import { readdirSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigSource, MetricsRegistry, createLogger } from '@carillon/core';
import { startIngestServer, type IngestServer } from '@carillon/transport';
import { Relay, decodeSpoolBody, encodeSpoolHeader, firstSequence, readRelayConfig } from '@carillon/relay';
import { RecordingHandler } from '../../../test/support/recording.js';
import { useTempDir } from '../../../test/support/temp-dir.js';
import { waitFor } from '../../../test/support/wait.js';

const logger = createLogger('spool-test', 'silent');
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});
const dir = useTempDir('spool');

async function member(
  id: string,
): Promise<{ id: string; handler: RecordingHandler; server: IngestServer; metrics: MetricsRegistry }> {
  const handler = new RecordingHandler(id);
  const metrics = new MetricsRegistry();
  const server = await startIngestServer(
    { host: '127.0.0.1', port: 0, maxMessageBytes: 4 << 20, keepaliveTimeMs: 10_000, keepaliveTimeoutMs: 5000 },
    handler,
    metrics,
  );
  cleanups.push(() => server.close());
  return { id, handler, server, metrics };
}

function send(port: number, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(port, '127.0.0.1', () => socket.end(text));
    socket.once('close', () => resolve());
    socket.once('error', reject);
  });
}

const metric = (registry: MetricsRegistry, name: string): number => {
  let total = 0;
  for (const line of registry.render().split('\n'))
    if (line.startsWith(`carillon_${name}`) && /[ {]/.test(line[`carillon_${name}`.length] ?? ''))
      total += Number(line.slice(line.lastIndexOf(' ') + 1));
  return total;
};

describe('relay spool', () => {
  it('records round-trip', () => {
    const lines = Buffer.from('a.b 1 100\nc.d 2 100\n');
    const slice = {
      kind: 'slice',
      format: 'statsd',
      ringVersion: 7,
      receivedAtMs: 1234567,
      destination: 'm@h:1',
      lines,
    } as const;
    const framed = Buffer.concat([encodeSpoolHeader(slice), lines]);
    expect(decodeSpoolBody(framed.subarray(8))).toEqual(slice);
    const batch = {
      kind: 'batch',
      format: 'graphite',
      sequence: 2 ** 50 + 3,
      endRecord: 5 * 2 ** 32 + 77,
      endOffset: 9,
      destination: 'm@h:1',
    } as const;
    expect(decodeSpoolBody(encodeSpoolHeader(batch).subarray(8))).toEqual(batch);
    const durable = { kind: 'durable', durable: 42, destination: 'é@h:2' } as const;
    expect(decodeSpoolBody(encodeSpoolHeader(durable).subarray(8))).toEqual(durable);
    expect(decodeSpoolBody(Buffer.from([9, 0, 0]))).toBe('kind');
    // A run's sequences start above the previous run's, and above anything in the spool.
    expect(firstSequence(2_000_000, 0)).toBe(2_000_000_000);
    expect(firstSequence(2_000_000, 5e12)).toBe(5e12 + 1);
  });

  it('a relay stopped with batches not durable: the next one on the spool delivers each line once', async () => {
    const members = [await member('s-0'), await member('s-1')];
    const config = (): ReturnType<typeof readRelayConfig> =>
      readRelayConfig(
        new ConfigSource(
          {},
          {},
          new Map([
            ['accumulators', members.map((m) => `${m.id}=127.0.0.1:${m.server.port}`).join(',')],
            ['graphite.tcp_listen', '127.0.0.1:0'],
            ['graphite.udp_listen', ''],
            ['statsd.tcp_listen', ''],
            ['pickle.tcp_listen', ''],
            ['statsd.udp_listen', ''],
            ['http.listen', ''],
            ['link.max_batch_delay', '20ms'],
            ['link.close_timeout', '300ms'],
            ['spool.dir', dir()],
            ['spool.segment_bytes', '4096'],
            ['spool.max_bytes', '1048576'],
          ]),
        ),
      );
    const now = Math.floor(Date.now() / 1000);
    const lines = (from: number, count: number): string[] =>
      Array.from({ length: count }, (_, i) => `spool.k${from + i} ${from + i} ${now}`);

    const first = await Relay.start(config(), logger);
    await send(first.ports.graphiteTcp!, lines(0, 500).join('\n') + '\n');
    await waitFor('the first lines processed', () => members.reduce((n, m) => n + m.handler.lines().length, 0) === 500);
    // The first lines become durable; their segments can go.
    for (const m of members) m.handler.makeAllDurable();
    for (const m of members) m.server.notifyDurable();
    await send(first.ports.graphiteTcp!, lines(500, 500).join('\n') + '\n');
    await waitFor('all lines processed', () => members.reduce((n, m) => n + m.handler.lines().length, 0) === 1000);
    await waitFor('a segment deleted', () => metric(first.metrics, 'relay_spool_deleted_segments_total') > 0);
    // The rest is processed, never durable: the stop gives up waiting and leaves it in the spool.
    await first.stop();
    expect(metric(first.metrics, 'relay_dropped_lines_total')).toBeGreaterThan(0);

    const second = await Relay.start(config(), logger);
    cleanups.push(() => second.stop());
    expect(second.relayId).toBe(first.relayId);
    expect(metric(second.metrics, 'relay_spool_replayed_lines_total')).toBeGreaterThan(0);
    // Sent again, recognised as processed: dropped by the servers, not handed on twice.
    await waitFor(
      'the replay dropped as duplicates',
      () => members.reduce((n, m) => n + metric(m.metrics, 'ingest_duplicate_batches_total'), 0) > 0,
    );
    await send(second.ports.graphiteTcp!, lines(1000, 200).join('\n') + '\n');
    await waitFor('the new lines processed', () => members.reduce((n, m) => n + m.handler.lines().length, 0) === 1200);
    const all = members.flatMap((m) => m.handler.lines()).sort();
    expect(all).toEqual(lines(0, 1200).sort());
    for (const m of members) m.handler.makeAllDurable();
    for (const m of members) m.server.notifyDurable();
    // Durable everywhere: what is left of the spool is the segment being written.
    await waitFor('old segments deleted', () => readdirSync(dir()).filter((f) => f.endsWith('.wal')).length <= 2);
  });
});
