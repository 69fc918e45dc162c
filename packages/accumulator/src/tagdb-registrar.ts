/**
 * Tells graphite-web's tag database about the tagged series carillon writes, as carbon-cache does: graphite-web
 * finds a tagged whisper file by `seriesByTag` only once its tag database knows the series, and carbon posts each
 * new tagged name to graphite-web's `/tags/tagMultiSeries` (its `GRAPHITE_URL`, `TAG_BATCH_SIZE`,
 * `TAG_QUEUE_SIZE`). A writer so that it hears every flushed name; it never holds up the flush or the acks: names
 * wait in a bounded queue (overflow counted) and are posted in batches on a timer, each request with a timeout;
 * a failed batch stays queued and is posted again at the next tick.
 */
import {
  ConfigError,
  configKey,
  readSection,
  type ConfigSource,
  type FlushBatch,
  type Logger,
  type MetricsRegistry,
  type Writer,
} from '@carillon/core';

export const TAGDB_KEYS = {
  url: configKey.string({
    key: 'tagdb.url',
    default: '',
    description:
      'graphite-web\'s base URL (carbon\'s GRAPHITE_URL): new tagged series are posted to its /tags/tagMultiSeries, so graphite-web reading the whisper files finds them by seriesByTag; user:password@ in the URL is sent as basic auth; "" for off',
  }),
  batchSize: configKey.integer({
    key: 'tagdb.batch_size',
    default: 100,
    min: 1,
    unit: 'series',
    description: 'tagged series names per tagMultiSeries request (carbon: TAG_BATCH_SIZE)',
  }),
  maxQueue: configKey.integer({
    key: 'tagdb.max_queue',
    default: 10_000,
    min: 1,
    unit: 'series',
    description:
      'tagged series names waiting to be posted; more are dropped (counted) and posted on their next write after a restart (carbon: TAG_QUEUE_SIZE)',
  }),
  intervalMs: configKey.duration({
    key: 'tagdb.interval',
    default: '1s',
    readAs: 'milliseconds',
    description: 'how often the waiting names are posted',
  }),
  timeoutMs: configKey.duration({
    key: 'tagdb.timeout',
    default: '5s',
    readAs: 'milliseconds',
    description: 'a tagMultiSeries request not answered in this time fails (its names are posted again)',
  }),
} as const;

export interface TagDbConfig {
  url: string;
  batchSize: number;
  maxQueue: number;
  intervalMs: number;
  timeoutMs: number;
}

export function readTagDbConfig(source: ConfigSource): TagDbConfig {
  const config = readSection(source, TAGDB_KEYS);
  if (config.url !== '') endpointOf(config.url, TAGDB_KEYS.url.key);
  return config;
}

interface Endpoint {
  url: string;
  /** Where the requests go, without credentials, for the log. */
  origin: string;
  headers: Record<string, string>;
}

function endpointOf(text: string, key: string): Endpoint {
  let parsed: URL;
  try {
    parsed = new URL(text);
  } catch {
    throw new ConfigError(key, `"${text}" is not a URL`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    throw new ConfigError(key, `"${parsed.protocol}" must be http: or https:`);
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (parsed.username !== '') {
    const user = decodeURIComponent(parsed.username);
    const password = decodeURIComponent(parsed.password);
    headers.authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  }
  parsed.username = '';
  parsed.password = '';
  const base = parsed.href.replace(/\/+$/, '');
  return { url: `${base}/tags/tagMultiSeries`, origin: parsed.origin, headers };
}

export class TagDbRegistrar implements Writer {
  readonly name = 'tagdb';
  private readonly endpoint: Endpoint;
  /** Names graphite-web has answered for; each is posted once per process. */
  private readonly registered = new Set<string>();
  /** Waiting to be posted, in arrival order. */
  private readonly queue = new Set<string>();
  private readonly timer: NodeJS.Timeout;
  private posting: Promise<void> | undefined;
  private failing = false;
  private readonly counters;

  constructor(
    private readonly config: TagDbConfig,
    registry: MetricsRegistry,
    private readonly logger: Logger,
  ) {
    this.endpoint = endpointOf(config.url, TAGDB_KEYS.url.key);
    this.counters = {
      tagged: registry.counter('tagdb_series_tagged_total', "Tagged series graphite-web's tag database took"),
      dropped: registry.counter('tagdb_series_dropped_total', 'Tagged series names dropped: tagdb.max_queue was full'),
      failed: registry.counter('tagdb_requests_failed_total', 'tagMultiSeries requests that failed or timed out'),
    };
    registry.gauge('tagdb_queue_series', 'Tagged series names waiting to be posted', [], (gauge) =>
      gauge.set(this.queue.size),
    );
    this.timer = setInterval(() => void this.post(), config.intervalMs);
    this.timer.unref();
  }

  write(batch: FlushBatch): Promise<void> {
    for (const name of batch.names) {
      if (!name.includes(';') || this.registered.has(name) || this.queue.has(name)) continue;
      if (this.queue.size >= this.config.maxQueue) this.counters.dropped.inc();
      else this.queue.add(name);
    }
    return Promise.resolve();
  }

  /** Posts every waiting name, batch by batch, until one fails; one post at a time. */
  post(): Promise<void> {
    return (this.posting ??= this.postAll().finally(() => (this.posting = undefined)));
  }

  private async postAll(): Promise<void> {
    while (this.queue.size > 0) {
      // The first batch_size waiting, without copying the whole queue for each batch.
      const names: string[] = [];
      for (const name of this.queue) {
        if (names.length === this.config.batchSize) break;
        names.push(name);
      }
      if (!(await this.postBatch(names))) return;
      for (const name of names) {
        this.queue.delete(name);
        this.registered.add(name);
      }
      this.counters.tagged.inc(names.length);
    }
  }

  private async postBatch(names: readonly string[]): Promise<boolean> {
    const body = new URLSearchParams(names.map((name): [string, string] => ['path', name]));
    try {
      const response = await fetch(this.endpoint.url, {
        method: 'POST',
        headers: this.endpoint.headers,
        body: body.toString(),
        signal: AbortSignal.timeout(this.config.timeoutMs),
      });
      await response.arrayBuffer();
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      if (this.failing) this.logger.info({ graphiteWeb: this.endpoint.origin }, 'tagMultiSeries answers again');
      this.failing = false;
      return true;
    } catch (error) {
      this.counters.failed.inc();
      // One line per episode: a graphite-web that is down would otherwise log every interval.
      if (!this.failing)
        this.logger.warn(
          { graphiteWeb: this.endpoint.origin, error: (error as Error).message, waiting: this.queue.size },
          'tagMultiSeries failed; the names stay queued',
        );
      this.failing = true;
      return false;
    }
  }

  /** One last post of what waits (bounded by the request timeout), then stops the timer. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.post();
  }
}
