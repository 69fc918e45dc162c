/**
 * The kafka writer's fault test (fault.ts): a Kafka of the test's own, stopped 60 s under traffic and started
 * again; its topic ends up with every window exactly once (read with kafkajs), the failures are counted, the file
 * writer beside it is unaffected.
 */
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { expect } from 'vitest';
import type { MetricMessage } from '@carillon/writers';
import { startKafkaProcess } from '../support/kafka-process.js';
import { checkServerHoldsAll, describeFault } from './fault.js';
import type { ReadRecord } from './scenario.js';

const TOPIC = 'wt-fault';
const key = (r: ReadRecord): string => `${r.name}|${r.step}|${r.time}`;

describeFault({
  writer: 'kafka',
  server: 'the broker',
  start: (dir) => startKafkaProcess(join(dir, 'kafka')),
  faultServer: (kafka) => kafka,
  close: (kafka) => kafka.stop(),
  writerToml: (kafka) => [
    `brokers = ${JSON.stringify(kafka.brokers)}`,
    `topic = "${TOPIC}"`,
    'write_index = false',
    'flush_interval = "500ms"',
    'client_retries = 1',
  ],
  // The client takes longer than the others to give up on a broker that went away.
  writeTimeout: '3s',
  async holdsAll(kafka, run) {
    const received: ReadRecord[] = [];
    const consumer = new Kafka({ brokers: kafka.brokers, logLevel: logLevel.NOTHING }).consumer({
      groupId: `wt-fault-${Date.now()}`,
    });
    await consumer.connect();
    await consumer.subscribe({ topics: [TOPIC], fromBeginning: true });
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
      // At least once: a produce cut by the outage may have landed and been sent again; keep one copy each.
      const once = new Map<string, ReadRecord>();
      const read = (): Promise<ReadRecord[]> => {
        for (const r of received) once.set(key(r), r);
        return Promise.resolve([...once.values()]);
      };
      await checkServerHoldsAll(read, run);
      // A second copy must be the same window again, never other values.
      expect(received.filter((r) => JSON.stringify(once.get(key(r))) !== JSON.stringify(r))).toEqual([]);
    } finally {
      await consumer.disconnect();
    }
  },
});
