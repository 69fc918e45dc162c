/**
 * `redis` (connection-based, behind the catalogue's queue): the latest StatPoint of every series and resolution
 * in a hash, and optionally a capped stream per series (layout and script in script.ts). One connection, opened at
 * the first delivery and after a failure not before the backoff (`Reconnecting`); every command under
 * `write_timeout`; no offline queue and no reconnect inside ioredis, so a dead Redis fails a delivery at once and
 * the queue retries it. The script makes a delivery idempotent: a chunk delivered twice leaves the same hashes
 * (the stream skips the entries already there, counted).
 * TLS and ACL credentials beyond the URL's user:password are left to the security work; the URL is never logged
 * with its password.
 */
import { Redis } from 'ioredis';
import { configKey, type FlushBatch } from '@carillon/core';
import { WriterError, type ErrorKind } from '../errors.js';
import { Reconnecting } from '../connection.js';
import type { Delivery } from '../queued-writer.js';
import { redactUrl } from '../url.js';
import { defineWriterType } from '../writer-type.js';
import { LATEST_SCRIPT, latestScriptCall, parseScriptResult, type RedisLayout } from './script.js';

export const REDIS_WRITER_KEYS = {
  url: configKey.string({
    key: 'url',
    default: 'redis://127.0.0.1:6379/0',
    description: 'redis://[user:password@]host:port[/db]; logged without its password',
  }),
  keyPrefix: configKey.string({
    key: 'key_prefix',
    default: 'carillon:',
    description: 'prepended to every key: <prefix>latest:<step>s:<name> (hash), <prefix>stream:<step>s:<name>',
  }),
  streamMaxLen: configKey.integer({
    key: 'stream_max_len',
    default: 0,
    min: 0,
    unit: 'items',
    description: 'entries kept per series stream (XADD MAXLEN ~); 0 writes no streams',
  }),
  seriesPerCall: configKey.integer({
    key: 'series_per_call',
    default: 500,
    min: 1,
    max: 100_000,
    unit: 'series',
    description: 'series written by one script call (one round trip, one atomic step on the server)',
  }),
} as const;

type ClientWithScript = Redis & {
  carillonLatest(numKeys: number, ...keysAndArgs: string[]): Promise<unknown>;
};

/** A failed command's kind: a Redis error reply is the server's; a timeout; anything else is the connection. */
export function redisErrorKind(error: unknown): ErrorKind {
  if (error instanceof WriterError) return error.kind;
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof Error && error.name === 'ReplyError') return 'server';
  if (/timed out|timeout/i.test(message)) return 'timeout';
  return 'connect';
}

export interface RedisDeliveryOptions extends RedisLayout {
  name: string;
  url: string;
  seriesPerCall: number;
  writeTimeoutMs: number;
  closeTimeoutMs: number;
  backoff: { baseMs: number; maxMs: number };
}

export interface RedisDeliveryCounters {
  stale: { inc(by?: number): void };
  streamSkipped: { inc(by?: number): void };
}

export function redisDelivery(options: RedisDeliveryOptions, counters: RedisDeliveryCounters): Delivery {
  const shownUrl = redactUrl(options.url);
  const connection = new Reconnecting<ClientWithScript>({
    name: options.name,
    connectTimeoutMs: options.writeTimeoutMs,
    closeTimeoutMs: options.closeTimeoutMs,
    backoff: options.backoff,
    async connect() {
      const client = new Redis(options.url, {
        lazyConnect: true,
        connectTimeout: options.writeTimeoutMs,
        commandTimeout: options.writeTimeoutMs,
        enableOfflineQueue: false,
        maxRetriesPerRequest: 0,
        autoResendUnfulfilledCommands: false,
        // Reconnects are Reconnecting's, with its backoff: ioredis gives up at once.
        retryStrategy: () => null,
      });
      client.on('error', () => undefined);
      client.defineCommand('carillonLatest', { lua: LATEST_SCRIPT });
      try {
        await client.connect();
      } catch (error) {
        client.disconnect();
        throw new WriterError('connect', `${options.name}: cannot connect to ${shownUrl}: ${(error as Error).message}`);
      }
      return client as ClientWithScript;
    },
    async disconnect(client) {
      if (client.status === 'ready') await client.quit().catch(() => undefined);
      client.disconnect();
    },
  });

  return {
    async deliver(chunk) {
      const client = await connection.get();
      const calls: Promise<number>[] = [];
      for (const batch of chunk) {
        for (let from = 0; from < batch.names.length; from += options.seriesPerCall) {
          const to = Math.min(from + options.seriesPerCall, batch.names.length);
          const { keys, args } = latestScriptCall(options, batch, from, to);
          const bytes = keys.reduce((n, key) => n + key.length, 0) + args.reduce((n, arg) => n + arg.length, 0);
          calls.push(
            client.carillonLatest(keys.length, ...keys, ...args).then((reply) => {
              const result = parseScriptResult(reply);
              counters.stale.inc(result.stale);
              counters.streamSkipped.inc(result.streamSkipped);
              return bytes;
            }),
          );
        }
      }
      const settled = await Promise.allSettled(calls);
      const failure = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
      if (failure !== undefined) {
        const kind = redisErrorKind(failure.reason);
        if (kind !== 'server') connection.broken(client);
        throw new WriterError(kind, `${options.name} (${shownUrl}): ${(failure.reason as Error).message}`);
      }
      return settled.reduce((n, s) => n + (s.status === 'fulfilled' ? s.value : 0), 0);
    },
    sizeOf(batch: FlushBatch) {
      // Key texts (prefix, step, name, twice with streams) and six values a series.
      return batch.names.reduce((n, name) => n + 2 * name.length, 0) + batch.names.length * 140;
    },
    close: () => connection.close(),
  };
}

export const REDIS_WRITER = defineWriterType({
  type: 'redis',
  archetypes: ['connection', 'batched'],
  description: 'the latest StatPoint per series and resolution in a Redis hash, and an optional capped stream',
  keys: REDIS_WRITER_KEYS,
  batching: { batchPoints: 5_000, flushInterval: '200ms' },
  open: (values, context) => {
    const m = context.registry;
    const counters = {
      stale: m
        .counter('redis_writer_points_stale_total', 'StatPoints older than the stored latest one, not written', [
          'writer',
        ])
        .labels(context.name),
      streamSkipped: m
        .counter('redis_writer_stream_skipped_total', 'stream entries not newer than the last one, skipped', ['writer'])
        .labels(context.name),
    };
    return Promise.resolve(
      redisDelivery(
        {
          name: context.name,
          url: values.url,
          keyPrefix: values.keyPrefix,
          streamMaxLen: values.streamMaxLen,
          seriesPerCall: values.seriesPerCall,
          writeTimeoutMs: context.io.writeTimeoutMs,
          closeTimeoutMs: context.io.closeTimeoutMs,
          backoff: context.io.backoff,
        },
        counters,
      ),
    );
  },
});
