import { afterEach, describe, expect, it } from 'vitest';
import { MetricsRegistry } from '@carillon/core';
import {
  AccumulatorLink,
  DEFAULT_LINK_OPTIONS,
  relayIdentityFromKey,
  startIngestServer,
  type AccumulatorLinkOptions,
  type IngestServer,
} from '@carillon/transport';
import { freePort } from '../../../test/support/ports.js';
import { RecordingHandler } from '../../../test/support/recording.js';
import { waitFor } from '../../../test/support/wait.js';
import { CuttableProxy } from './support.js';

const serverOptions = {
  host: '127.0.0.1',
  maxMessageBytes: 4 << 20,
  keepaliveTimeMs: 10_000,
  keepaliveTimeoutMs: 5_000,
};
const IDENTITY = relayIdentityFromKey(Buffer.alloc(32, 7), 'relay-host', 1);
const RELAY = IDENTITY.id;
const NOW = 1_700_000_000_000;

function linkOptions(overrides: Partial<AccumulatorLinkOptions>): AccumulatorLinkOptions {
  return { ...DEFAULT_LINK_OPTIONS, backoffInitialMs: 20, backoffMaxMs: 200, closeTimeoutMs: 300, ...overrides };
}

/** Lines of a fixed 20 bytes (plus newline) so batch sizes are predictable. */
function line(i: number): string {
  return `m.key${String(i).padStart(6, '0')} 1 170000`;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function server(handler: RecordingHandler, port = 0): Promise<IngestServer> {
  const started = await startIngestServer({ ...serverOptions, port }, handler, new MetricsRegistry());
  cleanups.push(() => started.close());
  return started;
}

function link(
  port: number,
  options: Partial<AccumulatorLinkOptions>,
  metrics = new MetricsRegistry(),
): AccumulatorLink {
  const created = new AccumulatorLink(
    { id: 'acc-1', address: `127.0.0.1:${port}` },
    IDENTITY,
    linkOptions(options),
    metrics,
  );
  cleanups.push(() => created.close());
  return created;
}

describe('AccumulatorLink', () => {
  it('closes batches at maxBatchBytes, copies the caller bytes, and sequences them', async () => {
    const handler = new RecordingHandler();
    const { port } = await server(handler);
    const l = link(port, { maxBatchBytes: 100, maxBatchDelayMs: 10_000 });
    const reused = Buffer.alloc(64);
    for (let i = 0; i < 10; i++) {
      const length = reused.write(line(i));
      l.appendRange('graphite', reused, 0, length, NOW, 7);
      reused.fill(0x78); // the listener reuses its buffer after the call
    }
    // 21 bytes a line: four fit in 100, so 8 lines went out in two full batches and 2 wait for the delay.
    await waitFor('2 batches', () => handler.batches.length === 2);
    expect(handler.batches.map((b) => [b.sequence, b.lineCount, b.lines.length])).toEqual([
      [1, 4, 84],
      [2, 4, 84],
    ]);
    l.flush();
    await waitFor('3 batches', () => handler.batches.length === 3);
    expect(handler.batches[2]).toMatchObject({
      sequence: 3,
      lineCount: 2,
      ringVersion: 7,
      receivedAtMs: NOW,
      format: 'graphite',
    });
    expect(handler.lines()).toEqual(Array.from({ length: 10 }, (_, i) => line(i)));
  });

  it('closes a batch after maxBatchDelayMs, and on a new ring version, arrival quantum or format', async () => {
    const handler = new RecordingHandler();
    const { port } = await server(handler);
    const l = link(port, { maxBatchDelayMs: 40, batchTimeQuantumMs: 1000 });
    await waitFor('the link to connect', () => l.depth().connected);
    const started = Date.now();
    l.append('graphite', Buffer.from('a 1 1'), NOW, 1);
    l.append('graphite', Buffer.from('b 1 1'), NOW + 999, 1);
    l.append('graphite', Buffer.from('c 1 1'), NOW + 1000, 1); // next quantum
    l.append('graphite', Buffer.from('d 1 1'), NOW + 1000, 2); // next ring version
    l.append('statsd', Buffer.from('e:1|c'), NOW + 1000, 2); // own batch per format
    await waitFor('4 batches', () => handler.batches.length === 4);
    expect(Date.now() - started).toBeGreaterThanOrEqual(35);
    const summary = handler.batches.map((b) => [b.format, b.ringVersion, b.receivedAtMs, b.lines.toString()]);
    expect(summary).toEqual(
      expect.arrayContaining([
        ['graphite', 1, NOW, 'a 1 1\nb 1 1\n'],
        ['graphite', 1, NOW + 1000, 'c 1 1\n'],
        ['graphite', 2, NOW + 1000, 'd 1 1\n'],
        ['statsd', 2, NOW + 1000, 'e:1|c\n'],
      ]),
    );
  });

  it('retains batches until they are acked durable', async () => {
    const handler = new RecordingHandler();
    const srv = await server(handler);
    const l = link(srv.port, { maxBatchBytes: 100 });
    for (let i = 0; i < 12; i++) l.append('graphite', Buffer.from(line(i)), NOW, 1);
    l.flush();
    await waitFor('processed sequence 3', () => l.depth().processedSequence === 3);
    expect(l.depth()).toMatchObject({ queuedBatches: 3, unackedBatches: 3, unsentBatches: 0, durableSequence: 0 });
    handler.durable.set(RELAY, 2);
    srv.notifyDurable();
    await waitFor('durable sequence 2', () => l.depth().durableSequence === 2);
    expect(l.depth()).toMatchObject({ queuedBatches: 1, queuedBytes: 84 });
    handler.makeAllDurable();
    srv.notifyDurable();
    await waitFor('an empty queue', () => l.depth().queuedBatches === 0);
  });

  it('replays what is not durable after a broken stream; the server drops the duplicates', async () => {
    const handler = new RecordingHandler();
    const metrics = new MetricsRegistry();
    const srv = await startIngestServer({ ...serverOptions, port: 0 }, handler, metrics);
    cleanups.push(() => srv.close());
    const proxy = await CuttableProxy.start(srv.port);
    cleanups.push(() => proxy.close());
    const linkMetrics = new MetricsRegistry();
    const l = link(proxy.port, { maxBatchBytes: 100 }, linkMetrics);
    for (let i = 0; i < 20; i++) l.append('graphite', Buffer.from(line(i)), NOW, 1);
    l.flush();
    await waitFor('processed sequence 5', () => l.depth().processedSequence === 5);
    handler.durable.set(RELAY, 2);
    srv.notifyDurable();
    await waitFor('durable sequence 2', () => l.depth().durableSequence === 2);

    expect(proxy.cutAll()).toBeGreaterThan(0);
    await waitFor('one reconnect', () => linkMetrics.value('relay_link_reconnects_total', 'acc-1') === 1);
    await waitFor('3 duplicate batches', () => metrics.value('ingest_duplicate_batches_total', 'relay-host') === 3);
    expect(linkMetrics.value('relay_link_batches_replayed_total', 'acc-1')).toBe(3);
    for (let i = 20; i < 24; i++) l.append('graphite', Buffer.from(line(i)), NOW, 1);
    l.flush();
    await waitFor('6 batches', () => handler.batches.length === 6);
    expect(handler.batches.map((b) => b.sequence)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(handler.lines()).toEqual(Array.from({ length: 24 }, (_, i) => line(i)));
  });

  it('replays everything not durable to a server restarted on the same port: nothing lost, nothing doubled', async () => {
    const first = new RecordingHandler();
    const firstServer = await startIngestServer({ ...serverOptions, port: 0 }, first, new MetricsRegistry());
    const port = firstServer.port;
    const l = link(port, { maxBatchBytes: 100 });
    const sent: string[] = [];
    const send = (from: number, to: number): void => {
      for (let i = from; i < to; i++) {
        l.append('graphite', Buffer.from(line(i)), NOW, 1);
        sent.push(line(i));
      }
      l.flush();
    };
    send(0, 40); // sequences 1..10
    await waitFor('10 batches', () => first.batches.length === 10);
    first.durable.set(RELAY, 6); // 6 batches flushed before the crash, 4 processed but lost with the process
    firstServer.notifyDurable();
    await waitFor('durable sequence 6', () => l.depth().durableSequence === 6);
    await firstServer.close();
    send(40, 60); // while the accumulator is down: sequences 11..15 wait in the queue

    const second = new RecordingHandler();
    await server(second, port);
    await waitFor('replay to the restarted server', () => second.batches.length === 9, 15_000);
    expect(second.batches.map((b) => b.sequence)).toEqual([7, 8, 9, 10, 11, 12, 13, 14, 15]);
    const durableFirst = first.batches
      .filter((b) => b.sequence <= 6)
      .flatMap((b) => b.lines.toString().split('\n').slice(0, -1));
    expect([...durableFirst, ...second.lines()]).toEqual(sent);
    second.makeAllDurable();
    await l.close();
    expect(l.depth().queuedBatches).toBe(0);
  });

  it('sends nothing to an address that answers as another member, and delivers everything once the right one answers', async () => {
    const impostor = new RecordingHandler('acc-9');
    const impostorServer = await startIngestServer({ ...serverOptions, port: 0 }, impostor, new MetricsRegistry());
    const port = impostorServer.port;
    const metrics = new MetricsRegistry();
    const l = link(port, {}, metrics);
    const sent: string[] = [];
    for (let i = 0; i < 12; i++) {
      l.append('graphite', Buffer.from(line(i)), NOW, 1);
      sent.push(line(i));
    }
    l.flush();
    await waitFor('refusals', () => metrics.value('relay_link_wrong_member_total', 'acc-1') >= 2, 10_000);
    expect(impostor.batches).toEqual([]);
    expect(l.depth().queuedBatches).toBeGreaterThan(0);
    await impostorServer.close();

    const rightful = new RecordingHandler('acc-1');
    await server(rightful, port);
    await waitFor('delivery to the right member', () => rightful.lines().length === sent.length, 15_000);
    expect(rightful.lines()).toEqual(sent);
    rightful.makeAllDurable();
  });

  it('drops the oldest batches past maxUnackedBytes and counts them by reason and destination', async () => {
    const port = await freePort();
    const metrics = new MetricsRegistry();
    const l = link(port, { maxBatchBytes: 100, maxUnackedBytes: 300 }, metrics);
    for (let i = 0; i < 40; i++) l.append('graphite', Buffer.from(line(i)), NOW, 1);
    l.flush();
    // 10 batches of 84 bytes: only 3 fit in 300.
    expect(l.depth()).toMatchObject({ queuedBatches: 3, queuedBytes: 252 });
    expect(metrics.value('relay_dropped_batches_total', 'retention_full', 'acc-1')).toBe(7);
    expect(metrics.value('relay_dropped_lines_total', 'retention_full', 'acc-1')).toBe(28);

    const handler = new RecordingHandler();
    await server(handler, port);
    await waitFor('delivery once the server is up', () => handler.batches.length === 3, 15_000);
    expect(handler.batches.map((b) => b.sequence)).toEqual([8, 9, 10]);
    expect(handler.lines()).toEqual(Array.from({ length: 12 }, (_, i) => line(28 + i)));
  });

  it('pauses on backpressure and still delivers every batch once, in order', async () => {
    const handler = new RecordingHandler();
    const { port } = await server(handler);
    const metrics = new MetricsRegistry();
    const l = link(port, { maxBatchBytes: 2048 }, metrics);
    await waitFor('the link to connect', () => l.depth().connected);
    const payload = 'x'.repeat(200);
    const total = 20_000;
    for (let i = 0; i < total; i++) l.append('graphite', Buffer.from(`k${i} ${payload}`), NOW, 1);
    l.flush();
    expect(metrics.value('relay_link_backpressure_waits_total', 'acc-1')).toBeGreaterThan(0);
    await waitFor('every line', () => handler.batches.reduce((n, b) => n + b.lineCount, 0) === total, 20_000);
    const sequences = handler.batches.map((b) => b.sequence);
    expect(sequences).toEqual(Array.from({ length: sequences.length }, (_, i) => i + 1));
    const lines = handler.lines();
    expect(lines[0]).toBe(`k0 ${payload}`);
    expect(lines[total - 1]).toBe(`k${total - 1} ${payload}`);
    expect(metrics.value('relay_dropped_lines_total', 'retention_full', 'acc-1')).toBe(0);
  });

  it('counts lines refused after close and lines larger than a batch', async () => {
    const metrics = new MetricsRegistry();
    const l = link(await freePort(), { maxBatchBytes: 64, closeTimeoutMs: 100 }, metrics);
    l.append('graphite', Buffer.alloc(64, 0x61), NOW, 1);
    l.append('graphite', Buffer.from('a 1 1'), NOW, 1);
    await l.close();
    l.append('graphite', Buffer.from('b 1 1'), NOW, 1);
    expect(metrics.value('relay_dropped_lines_total', 'line_too_large', 'acc-1')).toBe(1);
    expect(metrics.value('relay_dropped_lines_total', 'undelivered_at_shutdown', 'acc-1')).toBe(1);
    expect(metrics.value('relay_dropped_lines_total', 'link_closed', 'acc-1')).toBe(1);
  });
});
