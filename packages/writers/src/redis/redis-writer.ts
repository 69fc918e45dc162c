/**
 * The `redis` writer (connection-based): the latest StatPoint of every series and resolution in a hash, and
 * optionally a capped stream per series (layout in script.ts). The connection is opened at the first write,
 * reopened by ioredis with a doubling backoff capped at `backoffMaxMs`; every command has `commandTimeoutMs`.
 * While the connection is down a write fails at once (no offline queue) and hands its series back to retry, so a
 * dead Redis costs nothing and holds no memory here: the writer sink's bounded retry queue holds them.
 */
import { Redis } from 'ioredis';
import { subsetBatch } from '@carillon/core';
import type { FlushBatch, Logger, MetricsRegistry, WriteOutcome, Writer } from '@carillon/core';
import { LATEST_SCRIPT, latestScriptCall, parseScriptResult, type RedisLayout } from './script.js';
import { redactUrl } from '../url.js';

export interface RedisWriterOptions extends RedisLayout {
  /** The writer's name in counters and logs. */
  name: string;
  /** `redis://[user:password@]host:port[/db]`. */
  url: string;
  /** Series per script call (one round trip, one atomic step on the server). */
  seriesPerCall: number;
  connectTimeoutMs: number;
  commandTimeoutMs: number;
  backoffMinMs: number;
  backoffMaxMs: number;
}

export interface RedisWriterDeps {
  metrics: MetricsRegistry;
  logger?: Logger;
}

type ErrorKind = 'connection' | 'timeout' | 'server';

type ClientWithScript = Redis & {
  carillonLatest(numKeys: number, ...keysAndArgs: string[]): Promise<unknown>;
};

export function redisErrorKind(error: unknown): ErrorKind {
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof Error && error.name === 'ReplyError') return 'server';
  if (/timed out|timeout/i.test(message)) return 'timeout';
  return 'connection';
}

export class RedisWriter implements Writer {
  readonly name: string;
  private readonly client: ClientWithScript;
  private connecting: Promise<void> | undefined;
  private readonly written;
  private readonly stale;
  private readonly streamSkipped;
  private readonly retried;
  private readonly errors: Record<ErrorKind, { inc(by?: number): void }>;
  private readonly calls;
  private lastErrorLog = 0;

  constructor(
    private readonly options: RedisWriterOptions,
    private readonly deps: RedisWriterDeps,
  ) {
    this.name = options.name;
    const client = new Redis(options.url, {
      lazyConnect: true,
      connectTimeout: options.connectTimeoutMs,
      commandTimeout: options.commandTimeoutMs,
      // Fail at once while disconnected: the series go back to the sink's bounded retry queue, not into memory here.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      retryStrategy: (times) => Math.min(options.backoffMinMs * 2 ** Math.min(times - 1, 30), options.backoffMaxMs),
    });
    client.defineCommand('carillonLatest', { lua: LATEST_SCRIPT });
    // ioredis reports every failed reconnect here; the writes count their failures, the log says it once a minute.
    client.on('error', (error: Error) => this.logError('connection', error));
    this.client = client as ClientWithScript;
    const m = deps.metrics;
    const w = options.name;
    this.written = m
      .counter('redis_writer_points_written_total', 'StatPoints stored in the latest hashes', ['writer'])
      .labels(w);
    this.stale = m
      .counter('redis_writer_points_stale_total', 'StatPoints older than the stored latest one, not written', [
        'writer',
      ])
      .labels(w);
    this.streamSkipped = m
      .counter('redis_writer_stream_skipped_total', 'stream entries not newer than the last one, skipped', ['writer'])
      .labels(w);
    this.retried = m
      .counter('redis_writer_points_retry_total', 'StatPoints handed back to be written again', ['writer'])
      .labels(w);
    this.calls = m.counter('redis_writer_calls_total', 'script calls that succeeded', ['writer']).labels(w);
    const errors = m.counter('redis_writer_errors_total', 'failed script calls by kind', ['writer', 'kind']);
    this.errors = {
      connection: errors.labels(w, 'connection'),
      timeout: errors.labels(w, 'timeout'),
      server: errors.labels(w, 'server'),
    };
  }

  /** The first write opens the connection; after that ioredis keeps reconnecting by itself. */
  private ensureConnected(): Promise<void> {
    if (this.client.status !== 'wait') return Promise.resolve();
    this.connecting ??= this.client.connect().catch((error: unknown) => {
      this.logError('connection', error);
    });
    return this.connecting;
  }

  async write(batch: FlushBatch): Promise<WriteOutcome | void> {
    if (batch.names.length === 0) return;
    await this.ensureConnected();
    const per = this.options.seriesPerCall;
    const calls: Promise<void>[] = [];
    const failed: number[] = [];
    for (let from = 0; from < batch.names.length; from += per) {
      const to = Math.min(from + per, batch.names.length);
      const { keys, args } = latestScriptCall(this.options, batch, from, to);
      calls.push(
        this.client.carillonLatest(keys.length, ...keys, ...args).then(
          (reply) => {
            const result = parseScriptResult(reply);
            this.calls.inc();
            this.written.inc(result.written);
            this.stale.inc(result.stale);
            this.streamSkipped.inc(result.streamSkipped);
          },
          (error: unknown) => {
            const kind = redisErrorKind(error);
            this.errors[kind].inc();
            this.logError(kind, error);
            for (let i = from; i < to; i++) failed.push(i);
          },
        ),
      );
    }
    await Promise.all(calls);
    if (failed.length === 0) return;
    this.retried.inc(failed.length);
    failed.sort((a, b) => a - b);
    return { retry: subsetBatch(batch, failed) };
  }

  private logError(kind: ErrorKind, error: unknown): void {
    const now = Date.now();
    if (now - this.lastErrorLog < 60_000) return;
    this.lastErrorLog = now;
    this.deps.logger?.warn(
      { writer: this.name, url: redactUrl(this.options.url), kind, err: (error as Error).message },
      'redis writer: write failed; the series are retried',
    );
  }

  async close(): Promise<void> {
    if (this.client.status === 'ready') {
      const quit = this.client.quit().catch(() => undefined);
      const timeout = new Promise<void>((done) => setTimeout(done, this.options.commandTimeoutMs).unref());
      await Promise.race([quit, timeout]);
    }
    this.client.disconnect();
  }
}
