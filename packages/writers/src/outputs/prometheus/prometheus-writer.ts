/**
 * `prometheus` (pull): keeps the latest value of every series (exposition.ts) and serves it on its own HTTP
 * listener at `GET /metrics` for Prometheus to scrape. Writing never fails and never waits on the network, so it
 * has no queue; its bounds (`max_series`, `expire_after`) and refusals are its own, counted.
 */
import { createServer, type Server } from 'node:http';
import {
  ConfigError,
  configKey,
  type FlushBatch,
  type ListenAddress,
  type MetricsRegistry,
  type Writer,
} from '@carillon/core';
import { defineWriterType } from '../writer-type.js';
import { Exposition, type ExpositionOptions } from './exposition.js';
import { compileRules, type CompiledRule, type MappingRule } from './mapping.js';

export const PROMETHEUS_WRITER_KEYS = {
  listen: configKey.listen({
    key: 'listen',
    default: '127.0.0.1:9108',
    required: 'the exporter is scraped there',
    description: 'host:port of the exporter; Prometheus scrapes GET /metrics there',
  }),
  resolution: configKey.integer({
    key: 'resolution',
    default: 0,
    min: 0,
    description: 'which resolution is exported, by position in times (0: the finest, the freshest values)',
  }),
  maxSeries: configKey.integer({
    key: 'max_series',
    default: 100_000,
    min: 1,
    unit: 'series',
    description: 'series exported at most; new ones past it are refused (counted as limit)',
  }),
  expireAfterMs: configKey.duration({
    key: 'expire_after',
    default: '10m',
    readAs: 'milliseconds',
    min: '1s',
    description: 'a series not updated for this long is no longer exported (counted)',
  }),
  rules: configKey.table({
    key: 'rules',
    defaultText: 'none',
    description:
      'mapping rules, first match wins: [[writers.rules]] match = "servers.*.cpu.*" (glob; * one node, ** several), name = "cpu_$2", labels = { host = "$1" }; unmatched paths keep their name with [^a-zA-Z0-9_:] as _, tags become labels',
    example: [
      '# [[writers.rules]]',
      '# match = "servers.*.cpu.*"',
      '# name = "server_cpu_$2"',
      '# labels = { host = "$1" }',
    ],
  }),
} as const;

/** `rules` as read from the entry: a list of { match, name, labels }. */
export function parseMappingRules(raw: unknown): CompiledRule[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) throw new ConfigError('rules', 'must be a list of { match, name, labels } tables');
  const rules = raw.map((item: unknown, i): MappingRule => {
    if (typeof item !== 'object' || item === null || Array.isArray(item))
      throw new ConfigError(`rules[${i}]`, 'must be a table { match, name, labels }');
    const { match, name, labels = {}, ...rest } = item as Record<string, unknown>;
    const unknown = Object.keys(rest);
    if (unknown.length > 0) throw new ConfigError(`rules[${i}].${unknown[0]}`, 'is not a key of a rule');
    if (typeof labels !== 'object' || labels === null || Array.isArray(labels))
      throw new ConfigError(`rules[${i}].labels`, 'must be a table of label = "template"');
    for (const [label, template] of Object.entries(labels))
      if (typeof template !== 'string') throw new ConfigError(`rules[${i}].labels.${label}`, 'must be a string');
    return { match: match as string, name: name as string, labels: labels as Record<string, string> };
  });
  return compileRules(rules, 'rules');
}

export interface PrometheusWriterOptions extends ExpositionOptions {
  listen: ListenAddress;
  sweepIntervalMs?: number;
}

export class PrometheusWriter implements Writer {
  readonly name: string;
  private readonly sweepTimer: NodeJS.Timeout;

  private constructor(
    private readonly exposition: Exposition,
    private readonly server: Server,
    options: PrometheusWriterOptions,
  ) {
    this.name = options.name;
    this.sweepTimer = setInterval(
      () => exposition.sweep(Date.now()),
      options.sweepIntervalMs ?? Math.max(1_000, Math.min(options.expireAfterMs, 60_000)),
    );
    this.sweepTimer.unref();
  }

  static async open(options: PrometheusWriterOptions, registry: MetricsRegistry): Promise<PrometheusWriter> {
    const exposition = new Exposition(options, registry);
    const scrapes = registry
      .counter('prometheus_writer_scrapes_total', 'GET /metrics answered', ['writer'])
      .labels(options.name);
    const server = createServer((request, response) => {
      const path = (request.url ?? '/').split('?')[0];
      if (request.method !== 'GET' || path !== '/metrics') {
        response.writeHead(404, { 'content-type': 'text/plain' }).end('not found: GET /metrics\n');
        return;
      }
      scrapes.inc();
      response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
      response.end(exposition.render(Date.now()));
    });
    server.requestTimeout = 30_000;
    server.headersTimeout = 10_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.listen.port, options.listen.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return new PrometheusWriter(exposition, server, options);
  }

  /** The port bound (when `listen` asked for port 0). */
  get port(): number {
    const address = this.server.address();
    return typeof address === 'object' && address ? address.port : 0;
  }

  write(batch: FlushBatch): Promise<void> {
    this.exposition.update(batch, Date.now());
    return Promise.resolve();
  }

  async close(): Promise<void> {
    clearInterval(this.sweepTimer);
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    // Prometheus keeps its scrape connection alive: without this, close would wait for it.
    this.server.closeAllConnections();
    await closed;
  }
}

export const PROMETHEUS_WRITER = defineWriterType({
  type: 'prometheus',
  archetypes: ['pull'],
  description: 'the latest value of every series on an HTTP /metrics endpoint for Prometheus to scrape',
  keys: PROMETHEUS_WRITER_KEYS,
  check: (values) => void parseMappingRules(values.rules),
  open: async (values, context) => {
    if (values.resolution >= context.resolutions.length)
      throw new ConfigError('resolution', `must name one of the ${context.resolutions.length} resolutions in times`);
    const writer = await PrometheusWriter.open(
      {
        name: context.name,
        listen: values.listen!,
        rules: parseMappingRules(values.rules),
        aggregationRules: context.aggregationRules,
        resolutionIndex: values.resolution,
        maxSeries: values.maxSeries,
        expireAfterMs: values.expireAfterMs,
      },
      context.registry,
    );
    context.logger.info({ writer: context.name, port: writer.port }, 'prometheus writer: serving /metrics');
    return writer;
  },
});
