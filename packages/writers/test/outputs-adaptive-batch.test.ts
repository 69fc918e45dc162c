/**
 * The adaptive batch size against a real HTTP endpoint written here: the http writer's batches grow to their
 * bound while the endpoint answers fast, and shrink to their floor once it answers slower than the latency
 * target; every point arrives either way, and the current size is on /metrics.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigSource, createLogger, makeBatch, MetricsRegistry, parseResolutions } from '@carillon/core';
import { HTTP_WRITER, QueuedWriter } from '@carillon/writers';
import { sleep, waitFor } from '../../../test/support/wait.js';

const resolutions = parseResolutions(['10s:1h']);

describe('adaptive batch size', () => {
  let server: Server;
  let delayMs = 0;
  let received = 0;
  const sizes: number[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        const lines = body.split('\n').filter((l) => l !== '').length;
        sizes.push(lines);
        setTimeout(() => {
          received += lines;
          res.writeHead(204).end();
        }, delayMs);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });

  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('grows under a fast server and shrinks under a slow one, within its bounds', async () => {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/write`;
    const registry = new MetricsRegistry();
    const prepared = HTTP_WRITER.prepare(
      new ConfigSource({
        type: 'http',
        name: 'h',
        url,
        batch_points: 100,
        batch_min_points: 50,
        batch_max_points: 3200,
        latency_target: '100ms',
        batch_window: 2,
        flush_interval: '50ms',
      }),
      { spillDir: '' },
    );
    const writer = await prepared.open({
      registry,
      logger: createLogger('test', 'silent'),
      resolutions,
      aggregationRules: [],
    });
    if (!(writer instanceof QueuedWriter)) throw new Error('the http writer runs behind a QueuedWriter');
    let sent = 0;
    let time = 0;
    /** Keeps the queue ahead of the deliveries, so every batch is full. */
    const feed = async (until: () => boolean, limitMs: number): Promise<void> => {
      const deadline = Date.now() + limitMs;
      while (!until() && Date.now() < deadline) {
        if (writer.backlog < 2 * writer.batchSize + 5_000) {
          const entries = Array.from({ length: 2_000 }, (_, i): [string, ReturnType<typeof point>] => [
            `a.s${i}`,
            point(time),
          ]);
          await writer.write(makeBatch(resolutions[0]!, time, entries));
          sent += entries.length;
          time += 10;
        }
        await sleep(5);
      }
    };

    await feed(() => sizes.includes(3200), 20_000);
    expect(writer.batchSize).toBe(3200);
    expect(registry.render()).toContain('carillon_writer_batch_size_points{writer="h"} 3200');
    expect(Math.max(...sizes)).toBe(3200);
    // Doubling from 100 after every second full delivery: 200, 400, 800, 1600, 3200.
    const steps = [100, 200, 400, 800, 1600, 3200];
    const firstSeen = steps.map((n) => sizes.indexOf(n));
    expect(firstSeen.every((at) => at >= 0)).toBe(true);
    expect([...firstSeen].sort((x, y) => x - y)).toEqual(firstSeen);
    expect(Math.max(...sizes.slice(0, firstSeen[0]! + 1))).toBe(100);

    delayMs = 300;
    await feed(() => writer.batchSize === 50, 30_000);
    expect(writer.batchSize).toBe(50);
    expect(sizes.every((n) => n <= 3200)).toBe(true);
    expect(registry.render()).toMatch(/carillon_writer_last_latency_seconds\{writer="h"\} 0\.[3-9]/);

    delayMs = 0;
    await waitFor('every point delivered', () => received === sent, 60_000);
    await writer.close();
    expect(registry.value('writer_points_written_total', 'h')).toBe(sent);
  }, 120_000);
});

function point(time: number) {
  return { time, min: 1, max: 1, sum: 1, first: 1, last: 1, count: 1 };
}
