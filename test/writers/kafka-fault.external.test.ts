/**
 * The kafka writer's fault test (fault-scenario.ts): a Kafka of the test's own, stopped 60 s under traffic and
 * started again; its topic ends up with every window exactly once (read with kafkajs), the failures are counted,
 * the file writer beside it is unaffected.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, it } from 'vitest';
import type { MetricMessage } from '@carillon/writers';
import { startKafkaProcess, type KafkaProcess } from '../support/kafka-process.js';
import { waitFor } from '../support/wait.js';
import { checkCounted, checkFileUnaffected, runFault, type FaultRun } from './fault-scenario.js';
import { checkWindows, type ReadRecord } from './scenario.js';

describe('kafka writer: the broker down for 60 s under traffic', () => {
  const dir = mkdtempSync(join(tmpdir(), 'carillon-kafka-fault-'));
  let kafka: KafkaProcess;
  let run: FaultRun;

  beforeAll(async () => {
    kafka = await startKafkaProcess(join(dir, 'kafka'));
    run = await runFault(
      [
        '[[writers]]',
        'type = "kafka"',
        'name = "kafka"',
        `brokers = ${JSON.stringify(kafka.brokers)}`,
        'topic = "wt-fault"',
        'write_index = false',
        'flush_interval = "500ms"',
        'client_retries = 1',
        'max_retries = 1000',
        'retry_backoff = "200ms"',
        'retry_backoff_max = "2s"',
        'write_timeout = "3s"',
        'queue_max_points = 200000',
      ].join('\n'),
      join(dir, 'tsv'),
      kafka,
    );
  }, 400_000);

  afterAll(async () => {
    await kafka?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('counts the outage: errors by kind and retries, nothing dropped', () => checkCounted(run, 'kafka'));

  it('the topic holds every window after the broker comes back', async () => {
    const received: ReadRecord[] = [];
    const consumer = new Kafka({ brokers: kafka.brokers, logLevel: logLevel.NOTHING }).consumer({
      groupId: `wt-fault-${Date.now()}`,
    });
    await consumer.connect();
    await consumer.subscribe({ topics: ['wt-fault'], fromBeginning: true });
    await consumer.run({
      eachMessage: ({ message }) => {
        const m = JSON.parse(message.value?.toString() ?? '{}') as MetricMessage;
        received.push({
          name: m.metric,
          step: m.resolution,
          time: Number(BigInt(m.time) / 1_000_000_000n),
          sum: m.sum,
          mean: m.mean,
          min: m.min,
          max: m.max,
          first: m.first,
          last: m.last,
          count: m.count,
        });
        return Promise.resolve();
      },
    });
    try {
      await waitFor('every window on the topic', () => received.length >= run.expected.length, 60_000, 250);
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      // At least once: a produce cut by the outage may have landed and been sent again; keep one copy each.
      const once = new Map(received.map((r) => [`${r.name}|${r.step}|${r.time}`, r]));
      checkWindows([...once.values()], run.expected);
    } finally {
      await consumer.disconnect();
    }
  }, 90_000);

  it('the file writer is unaffected: its throughput through the outage, and every window', () =>
    checkFileUnaffected(run, join(dir, 'tsv')));
});
