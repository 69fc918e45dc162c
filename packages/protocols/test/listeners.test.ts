import { createSocket } from 'node:dgram';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { MetricsRegistry } from '@carillon/core';
import { EVICT_MIN_IDLE_MS, LineCounters, decodeLine, listenTcp, listenUdp, type Listener } from '@carillon/protocols';
import { sleep, waitFor } from '../../../test/support/wait.js';

const HOST = '127.0.0.1';

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: HOST, port }, () => resolve(socket));
    socket.once('error', reject);
  });
}

function closed(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    if (socket.closed) resolve();
    else socket.once('close', () => resolve());
  });
}

let listeners: Listener[] = [];
afterEach(async () => {
  await Promise.all(listeners.map((l) => l.close()));
  listeners = [];
});

function setup(protocol: string): { registry: MetricsRegistry; lines: LineCounters; received: string[] } {
  const registry = new MetricsRegistry();
  return { registry, lines: new LineCounters(registry, protocol), received: [] };
}

describe('listenTcp', () => {
  it('takes lines from many concurrent clients, split across writes, on a port picked by the OS', async () => {
    const { registry, lines, received } = setup('graphite');
    const listener = await listenTcp({ host: HOST, port: 0, lines }, (buf, start, end) =>
      received.push(decodeLine(buf, start, end)),
    );
    listeners.push(listener);
    expect(listener.port).toBeGreaterThan(0);

    const clients = 64;
    const linesPerClient = 300;
    const sent: string[] = [];
    let bytes = 0;
    await Promise.all(
      Array.from({ length: clients }, async (_, c) => {
        const socket = await open(listener.port);
        let payload = '';
        for (let i = 0; i < linesPerClient; i++) {
          const line = `client${c}.metric${i} ${i} 1700000000`;
          sent.push(line);
          payload += `${line}${i % 3 === 0 ? '\r\n' : '\n'}`;
        }
        const data = Buffer.from(payload);
        bytes += data.length;
        // Odd-sized writes so lines straddle reads.
        for (let at = 0; at < data.length; at += 997) socket.write(data.subarray(at, at + 997));
        socket.end();
        await closed(socket);
      }),
    );
    await waitFor('every line', () => received.length === sent.length);
    expect(received.sort()).toEqual(sent.sort());
    expect(registry.value('listener_connections_total', 'graphite', 'tcp')).toBe(clients);
    expect(registry.value('listener_bytes_received_total', 'graphite', 'tcp')).toBe(bytes);
    await waitFor('connections to close', () => registry.value('listener_connections_active', 'graphite', 'tcp') === 0);
  });

  it('delivers a final line without newline when the client ends, and counts over-long lines', async () => {
    const { registry, lines, received } = setup('graphite');
    const listener = await listenTcp({ host: HOST, port: 0, lines, maxLineLength: 20 }, (buf, start, end) =>
      received.push(decodeLine(buf, start, end)),
    );
    listeners.push(listener);
    const socket = await open(listener.port);
    socket.end(`a 1 2\n${'x'.repeat(100)} 1 2\nlast 3 4`);
    await waitFor('lines', () => received.length === 2);
    expect(received).toEqual(['a 1 2', 'last 3 4']);
    expect(registry.value('lines_rejected_total', 'graphite', 'line_too_long')).toBe(1);
    expect(registry.value('lines_received_total', 'graphite')).toBe(1);
  });

  it('refuses connections past maxConnections and counts them', async () => {
    const { registry, lines } = setup('graphite');
    const listener = await listenTcp({ host: HOST, port: 0, lines, maxConnections: 2 }, () => {});
    listeners.push(listener);
    const first = await open(listener.port);
    const second = await open(listener.port);
    await waitFor('two connections', () => registry.value('listener_connections_active', 'graphite', 'tcp') === 2);
    const third = await open(listener.port);
    await closed(third);
    expect(registry.value('listener_connections_refused_total', 'graphite', 'tcp')).toBe(1);
    expect(first.closed || second.closed).toBe(false);
    first.destroy();
    second.destroy();
  });

  it('at maxConnections closes the longest-silent connection for a new one, which gets its lines in', async () => {
    const { registry, lines } = setup('graphite');
    const received: string[] = [];
    const listener = await listenTcp({ host: HOST, port: 0, lines, maxConnections: 2 }, (buf, start, end) => {
      received.push(buf.toString('utf8', start, end));
    });
    listeners.push(listener);
    const first = await open(listener.port);
    const second = await open(listener.port);
    await waitFor('two connections', () => registry.value('listener_connections_active', 'graphite', 'tcp') === 2);
    await sleep(EVICT_MIN_IDLE_MS + 200);
    // The second spoke last: the first is the one silent the longest.
    second.write('second 1 1\n');
    await waitFor('the second line', () => received.length === 1);
    const third = await open(listener.port);
    third.end('third 1 1\n');
    await closed(first);
    await waitFor('the third line', () => received.length === 2);
    expect(received).toEqual(['second 1 1', 'third 1 1']);
    expect(second.closed).toBe(false);
    expect(registry.value('listener_connections_evicted_total', 'graphite', 'tcp')).toBe(1);
    expect(registry.value('listener_connections_refused_total', 'graphite', 'tcp')).toBe(0);
    second.destroy();
  });

  it('closes idle connections', async () => {
    const { registry, lines } = setup('graphite');
    const listener = await listenTcp({ host: HOST, port: 0, lines, idleTimeoutMs: 100 }, () => {});
    listeners.push(listener);
    const socket = await open(listener.port);
    await closed(socket);
    expect(registry.value('listener_idle_timeouts_total', 'graphite', 'tcp')).toBe(1);
  });

  it('close() ends open connections and stops accepting', async () => {
    const { lines } = setup('graphite');
    const listener = await listenTcp({ host: HOST, port: 0, lines }, () => {});
    const socket = await open(listener.port);
    socket.on('error', () => {});
    await listener.close();
    await listener.close(); // a second close is harmless
    await closed(socket);
    await expect(open(listener.port)).rejects.toThrow(/ECONNREFUSED/);
  });

  it('fails to start on a port already in use', async () => {
    const { lines } = setup('graphite');
    const listener = await listenTcp({ host: HOST, port: 0, lines }, () => {});
    listeners.push(listener);
    await expect(listenTcp({ host: HOST, port: listener.port, lines }, () => {})).rejects.toThrow(/EADDRINUSE/);
  });
});

describe('listenUdp', () => {
  it('takes several lines per datagram on a port picked by the OS', async () => {
    const { registry, lines, received } = setup('statsd');
    const listener = await listenUdp(
      { host: HOST, port: 0, lines, maxLineLength: 100, receiveBufferSize: 1 << 20 },
      (buf, start, end) => received.push(decodeLine(buf, start, end)),
    );
    listeners.push(listener);
    expect(listener.port).toBeGreaterThan(0);

    const client = createSocket('udp4');
    const sent: string[] = [];
    const datagrams = 50;
    let bytes = 0;
    for (let d = 0; d < datagrams; d++) {
      const batch = [`d${d}.a:1|c`, `d${d}.b:2|ms|@0.5`, `d${d}.c:3|g`];
      sent.push(...batch);
      const datagram = Buffer.from(`${batch.join('\n')}\n${'y'.repeat(200)}:1|c`);
      bytes += datagram.length;
      await new Promise<void>((resolve, reject) =>
        client.send(datagram, listener.port, HOST, (error) => (error ? reject(error) : resolve())),
      );
    }
    client.close();
    await waitFor('every line', () => received.length === sent.length);
    expect(received.sort()).toEqual(sent.sort());
    await waitFor('rejections', () => registry.value('lines_rejected_total', 'statsd', 'line_too_long') === datagrams);
    expect(registry.value('listener_datagrams_received_total', 'statsd', 'udp')).toBe(datagrams);
    expect(registry.value('listener_bytes_received_total', 'statsd', 'udp')).toBe(bytes);
  });

  it('fails to start on a port already in use and closes cleanly', async () => {
    const { lines } = setup('statsd');
    const listener = await listenUdp({ host: HOST, port: 0, lines }, () => {});
    await expect(listenUdp({ host: HOST, port: listener.port, lines }, () => {})).rejects.toThrow(/EADDRINUSE/);
    await listener.close();
    await listener.close();
  });
});
