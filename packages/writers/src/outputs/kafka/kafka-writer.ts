/**
 * `kafka` (batched, connection-based): StatPoints as JSON `metric` messages and, once per series, `index`
 * messages (kafka-messages.ts), on one topic or two, keyed by series id (the client's murmur2 partitioner keeps
 * a series in one partition, in order). Built on @platformatic/kafka (pure JavaScript; gzip, snappy, lz4 and zstd
 * without native code; see docs/ARCHITECTURE.md): the producer connects lazily, every request under
 * `write_timeout`, its own retries (`client_retries`) inside each delivery and the queue's backoff around it.
 */
import { ProduceAcks, Producer, stringSerializers } from '@platformatic/kafka';
import { ConfigError, configKey } from '@carillon/core';
import { WriterError } from '../errors.js';
import type { Delivery } from '../queued-writer.js';
import { forEachRow } from '../rows.js';
import { defineWriterType } from '../writer-type.js';
import { indexMessage, metricMessage, seriesFacts, type SeriesFacts } from './kafka-messages.js';

export const KAFKA_COMPRESSIONS = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;

export const KAFKA_WRITER_KEYS = {
  brokers: configKey.stringList({
    key: 'brokers',
    default: [],
    description: 'bootstrap brokers, "host:port" (required)',
  }),
  topic: configKey.string({ key: 'topic', default: 'carillon-metrics', description: 'topic of the metric messages' }),
  indexTopic: configKey.string({
    key: 'index_topic',
    default: '',
    description: 'topic of the index messages; "" for the metric topic',
  }),
  writeIndex: configKey.boolean({
    key: 'write_index',
    default: true,
    description: 'send an index message for each series the first time it is written',
  }),
  indexCacheSize: configKey.integer({
    key: 'index_cache_size',
    default: 1_000_000,
    min: 1,
    unit: 'series',
    description: 'series remembered as indexed; past it the set starts again (series are indexed again, harmless)',
  }),
  tags: configKey.stringList({ key: 'tags', default: [], description: 'static tags added to every message, "k=v"' }),
  compression: configKey.oneOf({
    key: 'compression',
    choices: KAFKA_COMPRESSIONS,
    default: 'none',
    description: 'record batch compression',
  }),
  acks: configKey.oneOf({
    key: 'acks',
    choices: ['all', 'leader'] as const,
    default: 'all',
    description: 'all: every in-sync replica has the messages; leader: the partition leader has them',
  }),
  clientRetries: configKey.integer({
    key: 'client_retries',
    default: 3,
    min: 0,
    description: 'retries of a produce request inside one delivery (metadata changes, leader moves)',
  }),
  clientId: configKey.string({ key: 'client_id', default: 'carillon', description: 'the Kafka client id' }),
} as const;

function parseStaticTags(tags: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const tag of tags) {
    const eq = tag.indexOf('=');
    if (eq <= 0 || eq === tag.length - 1)
      throw new ConfigError(KAFKA_WRITER_KEYS.tags.key, `"${tag}" must be name=value`);
    out[tag.slice(0, eq)] = tag.slice(eq + 1);
  }
  return out;
}

export const KAFKA_WRITER = defineWriterType({
  type: 'kafka',
  archetypes: ['batched', 'connection'],
  description: 'JSON metric and index messages, keyed by series, on one topic or two',
  keys: KAFKA_WRITER_KEYS,
  // Under the broker's default message.max.bytes (1 MiB) per partition batch, before compression.
  batching: { batchPoints: 2_000, batchMaxPoints: 50_000, batchMaxBytes: 900_000, flushInterval: '1s' },
  check: ({ brokers, tags, topic }) => {
    if (brokers.length === 0) throw new ConfigError(KAFKA_WRITER_KEYS.brokers.key, 'must name at least one broker');
    if (topic === '') throw new ConfigError(KAFKA_WRITER_KEYS.topic.key, 'must be set');
    parseStaticTags(tags);
  },
  open: (v, context): Promise<Delivery> => {
    const staticTags = parseStaticTags(v.tags);
    const indexTopic = v.indexTopic === '' ? v.topic : v.indexTopic;
    const producer = new Producer({
      clientId: v.clientId,
      bootstrapBrokers: v.brokers,
      serializers: stringSerializers,
      connectTimeout: context.io.writeTimeoutMs,
      requestTimeout: context.io.writeTimeoutMs,
      timeout: context.io.writeTimeoutMs,
      retries: v.clientRetries,
      retryDelay: context.io.backoff.baseMs,
      autocreateTopics: true,
      acks: v.acks === 'all' ? ProduceAcks.ALL : ProduceAcks.LEADER,
      compression: v.compression,
    });
    const facts = new Map<string, SeriesFacts>();
    const indexed = new Set<string>();
    const factsOf = (name: string): SeriesFacts => {
      let f = facts.get(name);
      if (f === undefined) {
        if (facts.size >= v.indexCacheSize) facts.clear();
        f = seriesFacts(name, staticTags);
        facts.set(name, f);
      }
      return f;
    };
    const delivery: Delivery = {
      async deliver(chunk) {
        const messages: { topic: string; key: string; value: string }[] = [];
        const newlyIndexed: string[] = [];
        const now = Date.now();
        forEachRow(chunk, (row) => {
          const f = factsOf(row.name);
          if (v.writeIndex && !indexed.has(f.id) && !newlyIndexed.includes(f.id)) {
            messages.push({ topic: indexTopic, key: f.id, value: JSON.stringify(indexMessage(f, now)) });
            newlyIndexed.push(f.id);
          }
          messages.push({ topic: v.topic, key: f.id, value: JSON.stringify(metricMessage(row, f)) });
        });
        let bytes = 0;
        for (const m of messages) bytes += m.key.length + m.value.length;
        try {
          await producer.send({ messages });
        } catch (error) {
          throw new WriterError(kafkaErrorKind(error), `kafka produce: ${(error as Error).message}`, false, {
            cause: error,
          });
        }
        if (indexed.size + newlyIndexed.length > v.indexCacheSize) indexed.clear();
        for (const id of newlyIndexed) indexed.add(id);
        return bytes;
      },
      sizeOf: (batch) => batch.names.reduce((n, name) => n + 2 * name.length + 300, 0),
      close: () => producer.close(),
    };
    return Promise.resolve(delivery);
  },
});

/** Timeouts, connection failures, and the rest as server-side errors (all retried). */
function kafkaErrorKind(error: unknown): 'timeout' | 'connect' | 'server' {
  const text = `${(error as Error).message} ${String((error as { code?: unknown }).code ?? '')}`;
  const causes = (error as { errors?: unknown[] }).errors ?? [];
  const all = [
    text,
    ...causes.map((c) => `${(c as Error).message} ${String((c as { code?: unknown }).code ?? '')}`),
  ].join(' ');
  if (/timeout|timed out/i.test(all)) return 'timeout';
  if (/ECONNREFUSED|ECONNRESET|connect|NETWORK/i.test(all)) return 'connect';
  return 'server';
}
