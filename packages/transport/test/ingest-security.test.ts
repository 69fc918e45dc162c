/**
 * The ingest port against a forger and a stranger: batches under a real relay's id without its key, sequences
 * meant to poison dedupe, wrong and missing tokens, clients without certificates. Each is refused and counted,
 * and the real relay's data arrives exactly once (compared line by line to what it sent).
 */
import { copyFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { MetricsRegistry } from '@carillon/core';
import {
  AccumulatorLink,
  callMetadata,
  channelCredentials,
  DEFAULT_LINK_OPTIONS,
  ingestService,
  newRelayIdentity,
  relayIdentityFromKey,
  serverCredentials,
  startIngestServer,
  type AccumulatorLinkOptions,
  type ClusterSecurity,
  type IngestServer,
  type RelayIdentity,
  type WireAck,
  type WireLineBatch,
} from '@carillon/transport';
import { makeCa } from '../../../test/support/certs.js';
import { startBusyLoops } from '../../../test/support/contention.js';
import { RecordingHandler } from '../../../test/support/recording.js';
import { useTempDir } from '../../../test/support/temp-dir.js';
import { waitFor } from '../../../test/support/wait.js';
import { CuttableProxy } from './support.js';

const serverOptions = {
  host: '127.0.0.1',
  port: 0,
  maxMessageBytes: 4 << 20,
  keepaliveTimeMs: 10_000,
  keepaliveTimeoutMs: 5_000,
};
const NOW = 1_700_000_000_000;
const MAX_U64 = '18446744073709551615';
const tempDir = useTempDir('ingest-security');

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

function line(i: number): string {
  return `m.key${String(i).padStart(6, '0')} 1 170000`;
}

function linkOptions(overrides: Partial<AccumulatorLinkOptions> = {}): AccumulatorLinkOptions {
  return {
    ...DEFAULT_LINK_OPTIONS,
    backoffInitialMs: 20,
    backoffMaxMs: 200,
    closeTimeoutMs: 300,
    connectTimeoutMs: 1000,
    ...overrides,
  };
}

async function server(
  handler: RecordingHandler,
  metrics: MetricsRegistry,
  extra: Partial<Parameters<typeof startIngestServer>[0]> = {},
): Promise<IngestServer> {
  const started = await startIngestServer({ ...serverOptions, ...extra }, handler, metrics);
  cleanups.push(() => started.close());
  return started;
}

function link(
  port: number,
  relay: RelayIdentity,
  options: Partial<AccumulatorLinkOptions> = {},
  metrics = new MetricsRegistry(),
): AccumulatorLink {
  const created = new AccumulatorLink(
    { id: 'acc-1', address: `127.0.0.1:${port}` },
    relay,
    linkOptions(options),
    metrics,
  );
  cleanups.push(() => created.close());
  return created;
}

type RawClient = grpc.Client & Record<string, (...args: unknown[]) => unknown>;

function rawClient(port: number, credentials = grpc.credentials.createInsecure()): RawClient {
  const Ingest = ingestService();
  const client = new Ingest(`127.0.0.1:${port}`, credentials) as unknown as RawClient;
  cleanups.push(() => client.close());
  return client;
}

/** Opens a stream with `metadata`, writes `batches`, and resolves with the call's final status and acks. */
async function rawStream(
  client: RawClient,
  metadata: grpc.Metadata,
  batches: WireLineBatch[],
): Promise<{ status: grpc.StatusObject; acks: WireAck[] }> {
  const call = client['Stream']!(metadata) as grpc.ClientDuplexStream<WireLineBatch, WireAck>;
  const acks: WireAck[] = [];
  call.on('data', (ack: WireAck) => acks.push(ack));
  call.on('error', () => {});
  const status = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
  for (const batch of batches) call.write(batch);
  // Give the server the batches before ending our side; a refused stream ends first anyway.
  setTimeout(() => call.end(), 200);
  return { status: await status, acks };
}

function forgedBatch(relayId: string, sequence: number | string, text = 'forged.key 666 1700000000\n'): WireLineBatch {
  return {
    relayId,
    // A string carries the full uint64 through protobufjs, as an attacker's own encoder would send it.
    sequence: sequence as number,
    format: 'GRAPHITE',
    ringVersion: 1,
    lines: Buffer.from(text),
    lineCount: 1,
    receivedAtMs: NOW,
  };
}

describe('relay identity', () => {
  it('derives the id from the key, and accepts only that key for it', () => {
    const relay = newRelayIdentity();
    expect(relay.id).toMatch(/\/[0-9a-f]{32}$/);
    const again = relayIdentityFromKey(relay.key, relay.id.split('/')[0], Number(relay.id.split('/')[1]));
    expect(again.id).toBe(relay.id);
    expect(newRelayIdentity().id).not.toBe(relay.id);
  });
});

describe('IngestServer against forged senders', () => {
  it('refuses and counts every forgery of a real relay; the relay loses nothing and nothing is doubled', async () => {
    // Under CPU contention: the refusals and the replay must not depend on timing.
    const contention = startBusyLoops(2, 30_000);
    cleanups.push(() => contention.stop());
    const handler = new RecordingHandler();
    const metrics = new MetricsRegistry();
    const srv = await server(handler, metrics);
    const proxy = await CuttableProxy.start(srv.port);
    cleanups.push(() => proxy.close());
    const real = newRelayIdentity();
    const l = link(proxy.port, real, { maxBatchBytes: 100 });
    const sent: string[] = [];
    const send = (from: number, to: number): void => {
      for (let i = from; i < to; i++) {
        l.append('graphite', Buffer.from(line(i)), NOW, 1);
        sent.push(line(i));
      }
      l.flush();
    };
    send(0, 100); // 25 batches
    await waitFor('25 batches processed', () => l.depth().processedSequence === 25);
    // The id is public (the relay's /ring page shows it); the attacker knows it and nothing else.
    const attacker = rawClient(srv.port);
    const own = newRelayIdentity();
    const withStolenId = new grpc.Metadata();
    withStolenId.set('carillon-relay-id', real.id);
    withStolenId.set('carillon-relay-key-bin', randomBytes(32));
    const attempts = [
      // 1. the real id with a made-up key
      await rawStream(attacker, withStolenId, [forgedBatch(real.id, MAX_U64)]),
      // 2. no key at all
      await rawStream(attacker, callMetadata(''), [forgedBatch(real.id, MAX_U64)]),
      // 3. the attacker's own valid identity, batches under the real id
      await rawStream(attacker, callMetadata('', own), [forgedBatch(real.id, MAX_U64)]),
      // 4. the attacker's own identity and a sequence that no longer fits a Number exactly
      await rawStream(attacker, callMetadata('', own), [forgedBatch(own.id, MAX_U64)]),
    ];
    expect(attempts.map((a) => a.status.code)).toEqual([
      grpc.status.PERMISSION_DENIED,
      grpc.status.UNAUTHENTICATED,
      grpc.status.PERMISSION_DENIED,
      grpc.status.INVALID_ARGUMENT,
    ]);
    expect(metrics.value('ingest_streams_refused_total', 'wrong_relay_key')).toBe(1);
    expect(metrics.value('ingest_streams_refused_total', 'missing_relay_key')).toBe(1);
    expect(metrics.value('ingest_invalid_batches_total', 'relay_id_mismatch')).toBe(1);
    expect(metrics.value('ingest_invalid_batches_total', 'sequence_out_of_range')).toBe(1);
    expect(handler.lines()).not.toContain('forged.key 666 1700000000');

    // The real relay carries on, through a broken connection and a replay of everything not durable.
    send(100, 200);
    await waitFor('50 batches processed', () => l.depth().processedSequence === 50);
    proxy.cutAll();
    send(200, 240);
    await waitFor('60 batches processed', () => l.depth().processedSequence === 60, 15_000);
    expect(metrics.value('ingest_duplicate_batches_total', real.id.split('/')[0]!)).toBeGreaterThan(0);
    handler.makeAllDurable();
    srv.notifyDurable();
    await waitFor('everything durable', () => l.depth().queuedBatches === 0);
    // Oracle: exactly the lines the relay sent, each once, in order.
    expect(handler.lines()).toEqual(sent);
    expect(handler.batches.every((b) => b.relayId === real.id)).toBe(true);
  });

  it('drops a replayed batch of the real relay as a duplicate, counted, processed once', async () => {
    const handler = new RecordingHandler();
    const metrics = new MetricsRegistry();
    const srv = await server(handler, metrics);
    const relay = relayIdentityFromKey(Buffer.alloc(32, 3), 'replayer', 1);
    const client = rawClient(srv.port);
    const batches = [1, 2, 3, 2, 1].map((s) => forgedBatch(relay.id, s, `r.${s} 1 1700000000\n`));
    const { status, acks } = await rawStream(client, callMetadata('', relay), batches);
    expect(status.code).toBe(grpc.status.OK);
    expect(handler.batches.map((b) => b.sequence)).toEqual([1, 2, 3]);
    expect(metrics.value('ingest_duplicate_batches_total', 'replayer')).toBe(2);
    expect(acks.at(-1)!.processed).toBe(3);
  });
});

describe('the cluster token', () => {
  it('refuses calls without it or with a wrong one, counted; a link with it delivers', async () => {
    const handler = new RecordingHandler('acc-1', { durableOnProcess: true });
    const metrics = new MetricsRegistry();
    const srv = await server(handler, metrics, { token: 'right-token' });
    const client = rawClient(srv.port);
    const relay = newRelayIdentity();
    const status = (token: string): Promise<grpc.ServiceError | null> =>
      new Promise((resolve) =>
        client['Status']!({}, callMetadata(token), { deadline: Date.now() + 2000 }, (error: grpc.ServiceError | null) =>
          resolve(error),
        ),
      );
    expect((await status(''))?.code).toBe(grpc.status.UNAUTHENTICATED);
    expect((await status('wrong-token'))?.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(await status('right-token')).toBeNull();
    const refusedStream = await rawStream(client, callMetadata('wrong-token', relay), [forgedBatch(relay.id, 1)]);
    expect(refusedStream.status.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(metrics.value('auth_refused_total', 'ingest', 'missing_token')).toBe(1);
    expect(metrics.value('auth_refused_total', 'ingest', 'wrong_token')).toBe(2);
    expect(handler.batches).toHaveLength(0);

    // A relay configured with the wrong token keeps its batches and retries; the right token delivers.
    const wrongMetrics = new MetricsRegistry();
    const insecure = grpc.credentials.createInsecure();
    const wrong = link(srv.port, relay, { security: { token: 'wrong-token', credentials: insecure } }, wrongMetrics);
    wrong.append('graphite', Buffer.from(line(1)), NOW, 1);
    wrong.flush();
    await waitFor(
      'status refusals counted',
      () => (wrongMetrics.value('relay_link_status_failures_total', 'acc-1') ?? 0) >= 2,
    );
    expect(wrong.depth().queuedBatches).toBe(1);
    const right = link(srv.port, newRelayIdentity(), { security: { token: 'right-token', credentials: insecure } });
    for (let i = 0; i < 8; i++) right.append('graphite', Buffer.from(line(i)), NOW, 1);
    right.flush();
    await waitFor(
      'delivered and durable',
      () => right.depth().durableSequence > 0 && right.depth().queuedBatches === 0,
    );
    expect(handler.lines()).toEqual(Array.from({ length: 8 }, (_, i) => line(i)));
  });
});

describe('TLS on the ingest port', () => {
  function security(overrides: Partial<NonNullable<ClusterSecurity['tls']>>, token = ''): ClusterSecurity {
    return {
      token,
      reloadIntervalMs: 50,
      tls: { cert: '', key: '', ca: '', clientAuth: 'none', serverName: '', ...overrides },
    };
  }

  it('with mTLS delivers from a relay with a client certificate; refuses one without, or one of another CA', async () => {
    const dir = tempDir();
    const ca = makeCa(dir, 'cluster-ca');
    const other = makeCa(dir, 'other-ca');
    const srvCert = ca.issue('accumulator');
    const relayCert = ca.issue('relay');
    const strangerCert = other.issue('stranger');
    const metrics = new MetricsRegistry();
    const serverTls = serverCredentials(security({ ...srvCert, ca: ca.cert, clientAuth: 'require' }), metrics);
    cleanups.push(() => serverTls.close());
    const handler = new RecordingHandler('acc-1', { durableOnProcess: true });
    const srv = await server(handler, metrics, { credentials: serverTls.credentials });

    const relayMetrics = new MetricsRegistry();
    const good = channelCredentials(security({ ...relayCert, ca: ca.cert }), relayMetrics);
    cleanups.push(() => good.close());
    const l = link(
      srv.port,
      newRelayIdentity(),
      { security: { token: '', credentials: good.credentials } },
      relayMetrics,
    );
    for (let i = 0; i < 8; i++) l.append('graphite', Buffer.from(line(i)), NOW, 1);
    l.flush();
    await waitFor('delivered over mTLS', () => l.depth().durableSequence > 0 && l.depth().queuedBatches === 0);
    expect(handler.lines()).toEqual(Array.from({ length: 8 }, (_, i) => line(i)));

    const tries: [string, grpc.ChannelCredentials][] = [
      ['no client certificate', channelCredentials(security({ ca: ca.cert }), new MetricsRegistry()).credentials],
      [
        'a certificate of another CA',
        channelCredentials(security({ ...strangerCert, ca: ca.cert }), new MetricsRegistry()).credentials,
      ],
      ['plain text', grpc.credentials.createInsecure()],
    ];
    for (const [what, credentials] of tries) {
      const m = new MetricsRegistry();
      const refused = link(srv.port, newRelayIdentity(), { security: { token: '', credentials } }, m);
      refused.append('graphite', Buffer.from(`${what.replace(/ /g, '_')} 1 1700000000`), NOW, 1);
      refused.flush();
      await waitFor(
        `${what}: refused and counted`,
        () =>
          (m.value('relay_link_status_failures_total', 'acc-1') ?? 0) +
            (m.value('relay_link_connect_failures_total', 'acc-1') ?? 0) >=
          2,
        15_000,
      );
      expect(refused.depth(), what).toMatchObject({ connected: false, queuedBatches: 1, processedSequence: 0 });
    }
    expect(handler.lines()).toHaveLength(8);
  });

  it('reloads the server certificate when its files change', async () => {
    const dir = tempDir();
    const first = makeCa(dir, 'first-ca');
    const second = makeCa(dir, 'second-ca');
    const a = first.issue('acc-a');
    const b = second.issue('acc-b');
    const live = { cert: join(dir, 'live.crt'), key: join(dir, 'live.key') };
    copyFileSync(a.cert, live.cert);
    copyFileSync(a.key, live.key);
    const metrics = new MetricsRegistry();
    const serverTls = serverCredentials(security(live), metrics);
    cleanups.push(() => serverTls.close());
    const srv = await server(new RecordingHandler(), metrics, { credentials: serverTls.credentials });
    const answersWith = async (caFile: string): Promise<boolean> => {
      const creds = channelCredentials(security({ ca: caFile }), new MetricsRegistry());
      const client = rawClient(srv.port, creds.credentials);
      const ok = await new Promise<boolean>((resolve) =>
        client['Status']!({}, callMetadata(''), { deadline: Date.now() + 2000 }, (error: Error | null) =>
          resolve(error === null),
        ),
      );
      client.close();
      creds.close();
      return ok;
    };
    expect(await answersWith(first.cert)).toBe(true);
    expect(await answersWith(second.cert)).toBe(false);
    copyFileSync(b.key, live.key);
    copyFileSync(b.cert, live.cert);
    await waitFor('the reload', () => metrics.value('tls_reloads_total', 'ingest') === 1);
    expect(await answersWith(second.cert)).toBe(true);
    expect(await answersWith(first.cert)).toBe(false);
  });
});
