/**
 * A consumer's hold on its listeners (read-gate.ts): while shut, a TCP connection's bytes wait in the kernel and
 * arrive, every one, once it opens, also on a connection made while it was shut; a UDP datagram cannot wait, so
 * its lines are refused as queue_full, and datagrams after it opens are delivered.
 */
import { createSocket } from 'node:dgram';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { MetricsRegistry } from '@carillon/core';
import { LineCounters, ReadGate, decodeLine, listenTcp, listenUdp, type Listener } from '@carillon/protocols';
import { sleep, waitFor } from '../../../test/support/wait.js';

const HOST = '127.0.0.1';

let listeners: Listener[] = [];
afterEach(async () => {
  await Promise.all(listeners.map((l) => l.close()));
  listeners = [];
});

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: HOST, port }, () => resolve(socket));
    socket.once('error', reject);
  });
}

describe('ReadGate', () => {
  it('holds TCP connections while shut and delivers every line once open', async () => {
    const registry = new MetricsRegistry();
    const lines = new LineCounters(registry, 'graphite');
    const gate = new ReadGate();
    const received: string[] = [];
    const listener = await listenTcp({ host: HOST, port: 0, lines, gate }, (buf, start, end) =>
      received.push(decodeLine(buf, start, end)),
    );
    listeners.push(listener);
    const before = await open(listener.port);
    before.write('held.before 1 100\n');
    await waitFor('the first line', () => received.length === 1);
    gate.close();
    before.write('held.before 2 100\n');
    const during = await open(listener.port);
    during.write('held.during 3 100\n');
    await sleep(300);
    expect(received).toEqual(['held.before 1 100']);
    gate.open();
    await waitFor('the held lines', () => received.length === 3);
    expect(received.slice(1).sort()).toEqual(['held.before 2 100', 'held.during 3 100']);
    before.destroy();
    during.destroy();
  });

  it('refuses the lines of UDP datagrams while shut (queue_full), and delivers them once open', async () => {
    const registry = new MetricsRegistry();
    const lines = new LineCounters(registry, 'statsd');
    const gate = new ReadGate();
    const received: string[] = [];
    const listener = await listenUdp({ host: HOST, port: 0, lines, gate }, (buf, start, end) =>
      received.push(decodeLine(buf, start, end)),
    );
    listeners.push(listener);
    const client = createSocket('udp4');
    const send = (datagram: string): Promise<void> =>
      new Promise((resolve, reject) =>
        client.send(datagram, listener.port, HOST, (error) => (error ? reject(error) : resolve())),
      );
    try {
      gate.close();
      await send('a:1|c\nb:2|c\n\nc:3|c');
      await waitFor('the refused lines', () => lines.rejected('queue_full').value === 3);
      expect(received).toEqual([]);
      gate.open();
      await send('d:4|c');
      await waitFor('the delivered line', () => received.length === 1);
      expect(received).toEqual(['d:4|c']);
      expect(lines.rejected('queue_full').value).toBe(3);
    } finally {
      client.close();
    }
  });
});
