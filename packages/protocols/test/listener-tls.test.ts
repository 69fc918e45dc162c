/**
 * TLS on the TCP receivers, end to end with certificates made for the test: Graphite, StatsD and pickle lines
 * arrive over TLS; with client_auth "require" a client without a certificate (or with one of another CA) is
 * refused and counted; changed certificate files are served to the next connection without a restart.
 */
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, type TLSSocket } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { MetricsRegistry } from '@carillon/core';
import {
  LineCounters,
  startLineListeners,
  startPickleListener,
  type LineListenerConfig,
  type Listener,
  type ListenerTls,
} from '@carillon/protocols';
import { makeCa, type TestCa, type TestCertificate } from '../../../test/support/certs.js';
import { pickleFrame } from '../../../test/support/pickle-frames.js';
import { useTempDir } from '../../../test/support/temp-dir.js';
import { waitFor } from '../../../test/support/wait.js';

const tempDir = useTempDir('listener-tls');
const listeners: Listener[] = [];
afterEach(async () => {
  while (listeners.length > 0) await listeners.pop()!.close();
});

function lineConfig(tls: ListenerTls): LineListenerConfig {
  return {
    tcp: { host: '127.0.0.1', port: 0 },
    udp: null,
    maxLineLength: 1024,
    maxConnections: 100,
    idleTimeoutMs: 10_000,
    udpReceiveBufferBytes: undefined,
    tls,
  };
}

/** Connects over TLS; resolves with the socket once the handshake is done, or rejects with the refusal. */
function tlsConnect(port: number, ca: string, client?: TestCertificate): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = connect({
      host: '127.0.0.1',
      port,
      ca: readFileSync(ca),
      servername: 'localhost',
      ...(client ? { cert: readFileSync(client.cert), key: readFileSync(client.key) } : {}),
    });
    socket.once('secureConnect', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Sends `payload` and ends; resolves once the server closed (so it read everything), rejects on a refusal. */
async function sendOver(port: number, ca: string, payload: Buffer | string, client?: TestCertificate): Promise<void> {
  const socket = await tlsConnect(port, ca, client);
  await new Promise<void>((resolve, reject) => {
    // TLS 1.3 reports a refused client certificate after the handshake, as an error on the first read.
    socket.on('error', reject);
    socket.on('close', () => resolve());
    socket.resume();
    socket.end(payload);
  });
}

interface Setup {
  ca: TestCa;
  tls: ListenerTls;
  client: TestCertificate;
}

function setup(clientAuth: 'none' | 'require'): Setup {
  const dir = tempDir();
  const ca = makeCa(dir, 'receivers-ca');
  const server = ca.issue('receiver');
  return {
    ca,
    client: ca.issue('sender'),
    tls: { files: { ...server, ca: clientAuth === 'require' ? ca.cert : '', clientAuth }, reloadIntervalMs: 50 },
  };
}

describe('TLS on the TCP receivers', () => {
  it('delivers Graphite, StatsD and pickle lines over TLS', async () => {
    const { ca, tls } = setup('none');
    const registry = new MetricsRegistry();
    const received: Record<string, string[]> = { graphite: [], statsd: [], pickle: [] };
    const collect =
      (protocol: string) =>
      (buf: Uint8Array, start: number, end: number): void => {
        received[protocol]!.push(Buffer.from(buf.subarray(start, end)).toString());
      };
    const graphite = await startLineListeners(
      lineConfig(tls),
      new LineCounters(registry, 'graphite'),
      collect('graphite'),
    );
    const statsd = await startLineListeners(lineConfig(tls), new LineCounters(registry, 'statsd'), collect('statsd'));
    const pickle = await startPickleListener(
      {
        tcp: { host: '127.0.0.1', port: 0 },
        maxFrameBytes: 1 << 20,
        maxItems: 1000,
        maxConnections: 10,
        idleTimeoutMs: 10_000,
        tls,
      },
      new LineCounters(registry, 'pickle'),
      collect('pickle'),
    );
    listeners.push(graphite.tcp!, statsd.tcp!, pickle!);

    await sendOver(graphite.tcp!.port, ca.cert, 'a.b 1 1700000000\nc.d 2 1700000000\n');
    await sendOver(statsd.tcp!.port, ca.cert, 'hits:1|c\nlatency:20|ms\n');
    await sendOver(pickle!.port, ca.cert, pickleFrame([{ path: 'p.q', timestamp: 1700000000, value: 3 }]));
    await waitFor(
      'every line',
      () => received.graphite!.length === 2 && received.statsd!.length === 2 && received.pickle!.length === 1,
    );
    expect(received.graphite).toEqual(['a.b 1 1700000000', 'c.d 2 1700000000']);
    expect(received.statsd).toEqual(['hits:1|c', 'latency:20|ms']);
    expect(received.pickle).toEqual(['p.q 3 1700000000']);

    // Plain text to a TLS port is no line: refused in the handshake, counted.
    const plain = await import('node:net');
    await new Promise<void>((resolve) => {
      const socket = plain.connect(graphite.tcp!.port, '127.0.0.1', () => socket.end('x.y 1 1700000000\n'));
      socket.on('close', () => resolve());
      socket.on('error', () => {});
    });
    await waitFor(
      'the refused handshake counted',
      () => registry.value('tls_handshake_failures_total', 'graphite') === 1,
    );
    expect(received.graphite).toHaveLength(2);
  });

  it('with client_auth "require" refuses a sender without a certificate or with one of another CA, counted', async () => {
    const { ca, tls, client } = setup('require');
    const stranger = makeCa(tempDir(), 'stranger-ca').issue('stranger');
    const registry = new MetricsRegistry();
    const received: string[] = [];
    const graphite = await startLineListeners(
      lineConfig(tls),
      new LineCounters(registry, 'graphite'),
      (buf, start, end) => received.push(Buffer.from(buf.subarray(start, end)).toString()),
    );
    listeners.push(graphite.tcp!);
    const port = graphite.tcp!.port;
    // The client may see the refusal as an error or (TLS 1.3) only as a closed socket: the server's count and
    // the lines it delivered are what matter.
    await sendOver(port, ca.cert, 'no.cert 1 1700000000\n').catch(() => {});
    await sendOver(port, ca.cert, 'wrong.ca 1 1700000000\n', stranger).catch(() => {});
    await waitFor('two refusals counted', () => registry.value('tls_handshake_failures_total', 'graphite') === 2);
    await sendOver(port, ca.cert, 'with.cert 1 1700000000\n', client);
    await waitFor('the line of the sender with a certificate', () => received.length === 1);
    expect(received).toEqual(['with.cert 1 1700000000']);
  });

  it('serves a changed certificate to the next connection, and keeps the old one while the new set is invalid', async () => {
    const dir = tempDir();
    const first = makeCa(dir, 'first');
    const second = makeCa(dir, 'second');
    const a = first.issue('a');
    const b = second.issue('b');
    const live = { cert: join(dir, 'live.crt'), key: join(dir, 'live.key') };
    copyFileSync(a.cert, live.cert);
    copyFileSync(a.key, live.key);
    const registry = new MetricsRegistry();
    const tls: ListenerTls = { files: { ...live, ca: '', clientAuth: 'none' }, reloadIntervalMs: 50 };
    const graphite = await startLineListeners(lineConfig(tls), new LineCounters(registry, 'graphite'), () => {});
    listeners.push(graphite.tcp!);
    const port = graphite.tcp!.port;
    const issuer = async (ca: string): Promise<string> => {
      const socket = await tlsConnect(port, ca);
      const name = String(socket.getPeerCertificate().issuer.CN);
      socket.destroy();
      return name;
    };
    expect(await issuer(first.cert)).toBe('first');
    // Half a rotation (the new key beside the old certificate) is refused and counted; the old set stays.
    copyFileSync(b.key, live.key);
    await waitFor('the half rotation refused', () => (registry.value('tls_reload_errors_total', 'graphite') ?? 0) >= 1);
    expect(await issuer(first.cert)).toBe('first');
    copyFileSync(b.cert, live.cert);
    await waitFor('the reload', () => registry.value('tls_reloads_total', 'graphite') === 1);
    expect(await issuer(second.cert)).toBe('second');
    await expect(tlsConnect(port, first.cert)).rejects.toThrow();
  });
});
