/**
 * carbon's name rules on the relay, through two accumulators: blocked and not-allowed names are counted and sent
 * nowhere; rewritten names (plaintext and pickle) reach the owner of the new name, never of the old one.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigSource, MetricsRegistry, createLogger } from '@carillon/core';
import { RingSchedule, murmur3String } from '@carillon/ring';
import { startIngestServer } from '@carillon/transport';
import { Relay, readRelayConfig } from '@carillon/relay';
import { RecordingHandler } from '../../../test/support/recording.js';
import { pickleFrame } from '../../../test/support/pickle-frames.js';
import { waitFor } from '../../../test/support/wait.js';

const logger = createLogger('relay-key-rules-test', 'silent');

function send(port: number, bytes: Buffer | string): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(port, '127.0.0.1', () => socket.end(bytes, () => resolve()));
    socket.on('error', reject);
  });
}

describe('relay with carbon rewrite rules and lists', () => {
  const dir = mkdtempSync(join(tmpdir(), 'carillon-relay-rules-'));
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    while (cleanups.length > 0) await cleanups.pop()!();
    rmSync(dir, { recursive: true, force: true });
  });

  it('places each rewritten name by its new name, refuses the listed ones', async () => {
    const accs = await Promise.all(
      ['rw-a', 'rw-b'].map(async (id) => {
        const handler = new RecordingHandler(id, { durableOnProcess: true });
        const server = await startIngestServer(
          { host: '127.0.0.1', port: 0, maxMessageBytes: 4 << 20, keepaliveTimeMs: 10_000, keepaliveTimeoutMs: 5000 },
          handler,
          new MetricsRegistry(),
        );
        cleanups.push(() => server.close());
        return { id, handler, server };
      }),
    );
    const file = (name: string, text: string): string => {
      writeFileSync(join(dir, name), text);
      return join(dir, name);
    };
    const source = new ConfigSource(
      {},
      {},
      new Map([
        ['accumulators', accs.map((a) => `${a.id}=127.0.0.1:${a.server.port}`).join(',')],
        ['graphite.tcp_listen', '127.0.0.1:0'],
        ['graphite.udp_listen', ''],
        ['statsd.tcp_listen', ''],
        ['statsd.udp_listen', ''],
        ['pickle.tcp_listen', '127.0.0.1:0'],
        ['http.listen', ''],
        ['link.max_batch_delay', '20ms'],
        ['carbon.rewrite_rules', file('rewrite-rules.conf', '[pre]\n^old\\.(\\w+)\\. = new.\\1.\n')],
        ['carbon.whitelist', file('whitelist.conf', '^old\\.\n^new\\.\n')],
        ['carbon.blacklist', file('blacklist.conf', '\\.secret$\n')],
      ]),
    );
    const config = readRelayConfig(source);
    const registry = new MetricsRegistry();
    const relay = await Relay.start(config, logger, registry);
    cleanups.push(() => relay.stop());

    const now = Math.floor(Date.now() / 1000);
    const sent: string[] = [];
    const expected: string[] = [];
    for (let i = 0; i < 200; i++) {
      sent.push(`old.host${i}.cpu ${i} ${now}`);
      expected.push(`new.host${i}.cpu ${i} ${now}`);
    }
    for (let i = 0; i < 20; i++) {
      sent.push(`new.kept${i} ${i} ${now}`);
      expected.push(`new.kept${i} ${i} ${now}`);
    }
    const refused = ['old.a.secret 1', 'new.b.secret 2', 'other.name 3', 'x 4'];
    await send(relay.ports.graphiteTcp!, [...sent, ...refused].join('\n') + '\n');
    const pickled = Array.from({ length: 30 }, (_, i) => ({ path: `old.pk${i}.mem`, timestamp: now, value: i }));
    await send(relay.ports.pickleTcp!, pickleFrame([...pickled, { path: 'elsewhere.x', timestamp: now, value: 1 }]));
    for (const p of pickled) expected.push(`new.pk${p.value}.mem ${p.value} ${now}`);

    const lines = (): string[] => accs.flatMap((a) => a.handler.lines());
    await waitFor('every allowed line', () => lines().length === expected.length);
    expect(lines().sort()).toEqual(expected.sort());
    const schedule = RingSchedule.fixed(
      accs.map((a) => ({ id: a.id, address: `127.0.0.1:${a.server.port}` })),
      { replicas: config.ring.replicas },
    );
    for (const acc of accs) {
      expect(acc.handler.lines().length).toBeGreaterThan(0);
      for (const line of acc.handler.lines())
        expect(schedule.ownerFor(murmur3String(line.split(' ')[0]!), now)?.id).toBe(acc.id);
    }
    await relay.collectMetrics();
    expect(registry.value('lines_rejected_total', 'graphite', 'blocked')).toBe(2);
    expect(registry.value('lines_rejected_total', 'graphite', 'not_allowed')).toBe(3);
    expect(registry.value('lines_accepted_total', 'graphite')).toBe(expected.length);
  });
});
