import { afterEach, describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { MetricsRegistry } from '@carillon/core';
import {
  callMetadata,
  ingestService,
  relayIdentityFromKey,
  startIngestServer,
  type IngestServer,
  type WireAck,
  type WireLineBatch,
} from '@carillon/transport';
import { RecordingHandler } from '../../../test/support/recording.js';
import { sleep, waitFor } from '../../../test/support/wait.js';

const serverOptions = {
  host: '127.0.0.1',
  port: 0,
  maxMessageBytes: 4 << 20,
  keepaliveTimeMs: 10_000,
  keepaliveTimeoutMs: 5_000,
};

const A = relayIdentityFromKey(Buffer.alloc(32, 1), 'host-a', 1);

/** A relay identity per host name, so tests can open streams for several relays. */
function identity(host: string): { id: string; key: Buffer } {
  return relayIdentityFromKey(Buffer.alloc(32, host.charCodeAt(1)), host, 1);
}

function batch(sequence: number, text = 'a.b 1 1700000000\n'): WireLineBatch {
  return {
    relayId: A.id,
    sequence,
    format: 'GRAPHITE',
    ringVersion: 1,
    lines: Buffer.from(text),
    lineCount: 1,
    receivedAtMs: 1_700_000_000_000,
  };
}

function rawClient(port: number): grpc.Client & Record<string, (...args: unknown[]) => unknown> {
  const Ingest = ingestService();
  return new Ingest(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as grpc.Client &
    Record<string, (...args: unknown[]) => unknown>;
}

let server: IngestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('IngestServer', () => {
  it('processes each sequence once, counts duplicates, and acks processed and durable', async () => {
    const handler = new RecordingHandler();
    const metrics = new MetricsRegistry();
    server = await startIngestServer(serverOptions, handler, metrics);
    const client = rawClient(server.port);
    const call = client['Stream']!(callMetadata('', A)) as grpc.ClientDuplexStream<WireLineBatch, WireAck>;
    const acks: WireAck[] = [];
    call.on('data', (ack: WireAck) => acks.push(ack));
    call.on('error', () => {});
    for (const sequence of [1, 2, 2, 1, 3]) call.write(batch(sequence, `k.${sequence} 1 1700000000\n`));
    await waitFor('an ack processed 3', () => acks.some((a) => a.processed === 3));
    expect(handler.batches.map((b) => b.sequence)).toEqual([1, 2, 3]);
    expect(handler.batches[0]).toMatchObject({
      relayId: A.id,
      format: 'graphite',
      ringVersion: 1,
      lineCount: 1,
    });
    expect(handler.batches[2]!.lines.toString()).toBe('k.3 1 1700000000\n');
    expect(metrics.value('ingest_duplicate_batches_total', 'host-a')).toBe(2);
    expect(metrics.value('ingest_lines_received_total', 'host-a')).toBe(3);
    expect(acks.at(-1)!.durable).toBe(0);

    handler.durable.set(A.id, 2);
    server.notifyDurable();
    await waitFor('an ack durable 2', () => acks.some((a) => a.durable === 2));
    expect(acks.at(-1)).toEqual({ processed: 3, durable: 2, refused: [] });
    call.end();
    client.close();
  });

  it('remembers at most maxRelays relays for dedupe, forgetting the one heard from least recently', async () => {
    const handler = new RecordingHandler();
    const metrics = new MetricsRegistry();
    server = await startIngestServer({ ...serverOptions, maxRelays: 2 }, handler, metrics);
    const client = rawClient(server.port);
    const send = async (host: string, sequence: number): Promise<void> => {
      const relay = identity(host);
      const relayId = relay.id;
      const call = client['Stream']!(callMetadata('', relay)) as grpc.ClientDuplexStream<WireLineBatch, WireAck>;
      const acked = new Promise<void>((resolve) => call.on('data', (ack: WireAck) => ack.processed > 0 && resolve()));
      call.on('error', () => {});
      call.write({ ...batch(sequence), relayId });
      await acked;
      call.end();
    };
    await send('r1', 1);
    await send('r2', 1);
    await send('r1', 2); // r1 heard from again: r2 is now the stalest
    await send('r3', 1); // a third relay: r2 is forgotten
    expect(metrics.value('ingest_relays_forgotten_total')).toBe(1);
    await send('r1', 2); // still remembered: a duplicate
    expect(metrics.value('ingest_duplicate_batches_total', 'r1')).toBe(1);
    const before = handler.batches.length;
    await send('r2', 1); // forgotten: processed again, as documented
    expect(handler.batches.length).toBe(before + 1);
    client.close();
  });

  it('answers Status and ends streams on close with a last ack', async () => {
    const handler = new RecordingHandler();
    server = await startIngestServer(serverOptions, handler, new MetricsRegistry());
    const client = rawClient(server.port);
    const reply = await new Promise<unknown>((resolve, reject) =>
      client['Status']!({}, callMetadata(''), { deadline: Date.now() + 2000 }, (error: Error | null, value: unknown) =>
        error ? reject(error) : resolve(value),
      ),
    );
    expect(reply).toEqual({ memberId: 'acc-1', ringVersion: 1, series: 0 });

    const call = client['Stream']!(callMetadata('', A)) as grpc.ClientDuplexStream<WireLineBatch, WireAck>;
    const acks: WireAck[] = [];
    call.on('data', (ack: WireAck) => acks.push(ack));
    const ended = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
    call.on('error', () => {});
    call.write(batch(7));
    await waitFor('an ack', () => acks.length > 0);
    handler.durable.set(A.id, 7);
    const closing = server.close();
    server = undefined;
    const status = await ended;
    await closing;
    expect(status.code).toBe(grpc.status.OK);
    expect(acks.at(-1)).toEqual({ processed: 7, durable: 7, refused: [] });
    client.close();
  });

  it('counts a relay cut with batches not durable as away until it streams again, for as long as asked', async () => {
    const handler = new RecordingHandler();
    server = await startIngestServer(serverOptions, handler, new MetricsRegistry());
    const open = (): grpc.ClientDuplexStream<WireLineBatch, WireAck> => {
      const call = rawClient(server!.port)['Stream']!(callMetadata('', A)) as grpc.ClientDuplexStream<
        WireLineBatch,
        WireAck
      >;
      call.on('error', () => {});
      call.on('data', () => {});
      return call;
    };
    // Cut while its batch 1 is processed but not durable: it will send it again, and what it read after.
    const broken = open();
    broken.write(batch(1));
    await waitFor('batch 1 processed', () => handler.batches.length === 1);
    broken.cancel();
    await waitFor('the broken stream seen', () => server!.relaysAway(60_000) === 1);
    expect(server.relaysAway(0)).toBe(0);
    expect(server.lastReturnAtMs).toBe(0);

    const back = open();
    await waitFor('the relay back', () => server!.relaysAway(60_000) === 0);
    expect(server.lastReturnAtMs).toBeGreaterThan(0);
    // An end without the goodbye looks like a kill.
    back.end();
    await waitFor('the relay away again', () => server!.relaysAway(60_000) === 1);
    // With the goodbye it holds nothing more for here.
    const last = open();
    await waitFor('the relay back again', () => server!.relaysAway(60_000) === 0);
    last.write({ ...batch(1, ''), lineCount: 0, last: true });
    last.end();
    await sleep(300);
    expect(server.relaysAway(60_000)).toBe(0);
    // Cut with everything durable: it was not sending for open windows, nothing to wait for.
    handler.makeAllDurable();
    const idle = open();
    await sleep(200);
    idle.cancel();
    await sleep(300);
    expect(server.relaysAway(60_000)).toBe(0);
    // The server's own closing is not a relay leaving.
    handler.durable.clear();
    open();
    await sleep(200);
    await server.close();
    await sleep(100);
    expect(server.relaysAway(60_000)).toBe(0);
  });
});
