/**
 * The `prometheus` writer (pull): keeps the latest value of every series (exposition.ts) and serves it on its own
 * HTTP listener at `GET /metrics` for Prometheus to scrape. Writing never fails and never waits on the network.
 */
import { createServer, type Server } from 'node:http';
import type { FlushBatch, ListenAddress, Logger, MetricsRegistry, Writer } from '@carillon/core';
import { Exposition, type ExpositionOptions } from './exposition.js';

export interface PrometheusWriterOptions extends ExpositionOptions {
  listen: ListenAddress;
  /** How often series not updated are swept even without scrapes. */
  sweepIntervalMs?: number;
}

export interface PrometheusWriterDeps {
  metrics: MetricsRegistry;
  logger?: Logger;
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

  static async open(options: PrometheusWriterOptions, deps: PrometheusWriterDeps): Promise<PrometheusWriter> {
    const exposition = new Exposition(options, deps.metrics);
    const scrapes = deps.metrics
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
    deps.logger?.info({ writer: options.name, listen: server.address() }, 'prometheus writer: serving /metrics');
    return new PrometheusWriter(exposition, server, options);
  }

  /** The port actually bound (when `listen.port` was 0). */
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
