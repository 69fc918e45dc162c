/**
 * The kafka writer end to end against the harness's Kafka: one program with two kafka writers, (a) gzip, metric
 * and index messages on two topics, static tags, acks = all, read back with kafkajs (an independent client), and
 * (b) lz4, one topic, write_index = false, acks = leader, read back with @platformatic/kafka's consumer. Every
 * message is keyed by its series id; the metric messages hold every window exactly.
 */
import { Consumer, stringDeserializers } from '@platformatic/kafka';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IndexMessage, MetricMessage } from '@carillon/writers';
import { kafkaBrokers, uniqueName, uniqueTopic } from '../harness/servers.js';
import { waitFor } from '../support/wait.js';
import { metricValue } from '../e2e/programs.js';
import { checkRecords, runScenario, type ReadRecord, type ScenarioRun } from './scenario.js';

interface Received {
  topic: string;
  key: string;
  value: string;
}

function toRecord(m: MetricMessage): ReadRecord {
  const { env: _env, ...tags } = m.tags;
  const tagText = Object.entries(tags)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, v]) => `;${k}=${v}`)
    .join('');
  return {
    name: `${m.metric}${tagText}`,
    step: m.resolution,
    time: Number(BigInt(m.time) / 1_000_000_000n),
    sum: m.sum,
    mean: m.mean,
    min: m.min,
    max: m.max,
    first: m.first,
    last: m.last,
    count: m.count,
    ttl: m.ttl,
  };
}

describe('kafka writer', () => {
  let brokers: string[];
  const topics = { a: uniqueTopic('wt-metrics-a'), aIndex: uniqueTopic('wt-index-a'), b: uniqueTopic('wt-metrics-b') };
  let run: ScenarioRun;
  const a: Received[] = [];
  const b: Received[] = [];
  let kafkajsConsumer: ReturnType<Kafka['consumer']> | undefined;
  let platformatic: Consumer<string, string, string, string> | undefined;

  beforeAll(async () => {
    brokers = await kafkaBrokers();
    run = await runScenario({
      bulk: 200,
      writersToml: [
        '[[writers]]',
        'type = "kafka"',
        'name = "kafka_a"',
        `brokers = ${JSON.stringify(brokers)}`,
        `topic = "${topics.a}"`,
        `index_topic = "${topics.aIndex}"`,
        'tags = ["env=test"]',
        'compression = "gzip"',
        'acks = "all"',
        '[[writers]]',
        'type = "kafka"',
        'name = "kafka_b"',
        `brokers = ${JSON.stringify(brokers)}`,
        `topic = "${topics.b}"`,
        'write_index = false',
        'compression = "lz4"',
        'acks = "leader"',
      ].join('\n'),
    });
    const kafka = new Kafka({ brokers, logLevel: logLevel.NOTHING });
    kafkajsConsumer = kafka.consumer({ groupId: uniqueName('wt_a') });
    await kafkajsConsumer.connect();
    await kafkajsConsumer.subscribe({ topics: [topics.a, topics.aIndex], fromBeginning: true });
    await kafkajsConsumer.run({
      eachMessage: ({ topic, message }) => {
        a.push({ topic, key: message.key?.toString() ?? '', value: message.value?.toString() ?? '' });
        return Promise.resolve();
      },
    });
    platformatic = new Consumer({
      groupId: uniqueName('wt_b'),
      clientId: 'carillon-test',
      bootstrapBrokers: brokers,
      deserializers: stringDeserializers,
    });
    const stream = await platformatic.consume({ topics: [topics.b], mode: 'earliest', autocommit: false });
    stream.on('data', (m: { topic: string; key: string; value: string }) =>
      b.push({ topic: m.topic, key: m.key, value: m.value }),
    );
  }, 180_000);

  afterAll(async () => {
    await kafkajsConsumer?.disconnect();
    await platformatic?.close(true);
  });

  const metricCount = (): number => run.expected.length + 6;
  const metrics = (received: Received[], topic: string): MetricMessage[] =>
    received.filter((m) => m.topic === topic).map((m) => JSON.parse(m.value) as MetricMessage);

  it('gzip, two topics, static tags: every window exactly, an index message per series, keyed by series', async () => {
    expect(run.exitCode, run.output).toBe(0);
    await waitFor('the metric messages of writer a', () => metrics(a, topics.a).length >= metricCount(), 60_000, 200);
    const messages = metrics(a, topics.a);
    for (const m of messages) expect(m.type).toBe('metric');
    expect(new Set(messages.map((m) => m.tags.env))).toEqual(new Set(['test']));
    for (const r of a.filter((m) => m.topic === topics.a))
      expect(r.key).toBe((JSON.parse(r.value) as MetricMessage).id);
    checkRecords(messages.map(toRecord), run);

    const ids = new Set(messages.map((m) => m.id));
    const indexed = (): IndexMessage[] =>
      a.filter((m) => m.topic === topics.aIndex).map((m) => JSON.parse(m.value) as IndexMessage);
    await waitFor('the index messages of writer a', () => new Set(indexed().map((m) => m.id)).size >= ids.size, 60_000);
    const index = indexed();
    expect(new Set(index.map((m) => m.id))).toEqual(ids);
    const seen = new Set<string>();
    const dupes = index.filter((m) => (seen.has(m.id) ? true : (seen.add(m.id), false))).map((m) => m.path);
    // At least once: a delivery whose index topic took its messages but whose metric topic failed (a topic being
    // auto-created) is sent again, index messages included; that is counted as a retry.
    if (dupes.length > 0)
      expect(metricValue(run.metricsBeforeStop, 'carillon_writer_retries_total{writer="kafka_a"}')).toBeGreaterThan(0);
    const tagged = index.find((m) => m.path === 'wt.g.tagged')!;
    expect(tagged).toMatchObject({
      type: 'index',
      segments: ['wt', 'g', 'tagged'],
      tags: { dc: 'eu', host: 'a', env: 'test' },
    });
    expect(BigInt(tagged.senttime)).toBeGreaterThan(BigInt(run.base - 60) * 1_000_000_000n);
  });

  it('lz4, one topic, no index messages: every window exactly', async () => {
    await waitFor('the metric messages of writer b', () => b.length >= metricCount(), 60_000, 200);
    const messages = metrics(b, topics.b);
    expect(messages.every((m) => m.type === 'metric')).toBe(true);
    for (const r of b) expect(r.key).toBe((JSON.parse(r.value) as MetricMessage).id);
    checkRecords(messages.map(toRecord), run);
  });
});
