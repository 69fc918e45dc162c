/**
 * The node's HTTP surface: `/metrics` (Prometheus), `/livez`, `/readyz` and `/healthz` (core health.ts), `POST /lines` (Graphite or StatsD lines in the
 * body, `?format=graphite|statsd`), then the Graphite API. Request bodies are bounded and every request has
 * a timeout.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  BodyTooLargeError,
  listenServer,
  createHttpOrHttpsServer,
  TokenGate,
  type HttpSecurity,
  readBodyLimited,
  sendHealth,
  sendJson,
  type Health,
  type ListenAddress,
  type Logger,
  type MetricsRegistry,
} from '@carillon/core';
import type { GraphiteApiHandler } from '@carillon/query';
import type { RejectReason } from '@carillon/protocols';
import type { BodyIngest } from './line-ingest.js';

export interface HttpOptions {
  listen: ListenAddress;
  maxBodyBytes: number;
  requestTimeoutMs: number;
  /** Bearer token of POST /lines and TLS of the port; open and plain when absent. */
  security?: HttpSecurity;
  headersTimeoutMs: number;
  maxConnections: number;
}

export interface HttpDeps {
  registry: MetricsRegistry;
  /** Brings counters kept on other threads into `registry` before /metrics renders it (bounded wait). */
  collectMetrics?: () => Promise<void>;
  ingest: BodyIngest;
  graphiteApi: GraphiteApiHandler;
  health: Health;
  /** Counts shown beside the health report. */
  details: () => Record<string, unknown>;
  logger?: Logger;
}

export interface RunningHttpServer {
  readonly port: number;
  close(): Promise<void>;
}

async function postLines(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  deps: HttpDeps,
  limit: number,
): Promise<void> {
  const format = url.searchParams.get('format') ?? 'graphite';
  if (format !== 'graphite' && format !== 'statsd') {
    sendJson(res, 400, { error: `format must be graphite or statsd, got "${format}"` });
    return;
  }
  let body: Buffer;
  try {
    body = await readBodyLimited(req, limit);
  } catch (error) {
    if (error instanceof BodyTooLargeError) {
      // Nothing of the body was ingested: the client can split it and send again.
      sendJson(res, 413, { error: `body larger than http.max_body_bytes (${limit} bytes); nothing was ingested` });
      return;
    }
    throw error;
  }
  const rejected: Partial<Record<RejectReason, number>> = {};
  let accepted = 0;
  // Logged first when the write-ahead log is on (logged-ingest.ts).
  deps.ingest.ingestBody(format, body, (problem) => {
    if (problem === undefined) accepted++;
    else rejected[problem] = (rejected[problem] ?? 0) + 1;
  });
  sendJson(res, 200, { accepted, rejected });
}

export async function startHttpServer(options: HttpOptions, deps: HttpDeps): Promise<RunningHttpServer> {
  const requests = deps.registry.counter('http_requests_total', 'HTTP requests by route class and status', [
    'route',
    'status',
  ]);
  const writes = new TokenGate(options.security?.token ?? '', deps.registry, 'lines');
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    let route = 'graphite';
    try {
      if (url.pathname === '/metrics' && req.method === 'GET') {
        route = 'metrics';
        await deps.collectMetrics?.();
        const text = deps.registry.render();
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
        res.end(text);
      } else if (url.pathname === '/livez') {
        route = 'health';
        sendHealth(res, deps.health.liveness());
      } else if (url.pathname === '/readyz' || url.pathname === '/healthz') {
        // /healthz is readiness with the node's counts beside it, 503 with reasons when not ready.
        route = 'health';
        sendHealth(res, deps.health.readiness(), url.pathname === '/healthz' ? deps.details() : {});
      } else if (url.pathname === '/lines') {
        route = 'lines';
        if (req.method !== 'POST') sendJson(res, 405, { error: 'POST lines to /lines?format=graphite|statsd' });
        else if (!writes.admit(req, res)) return;
        else await postLines(req, res, url, deps, options.maxBodyBytes);
      } else if (!(await deps.graphiteApi(req, res))) {
        route = 'unknown';
        sendJson(res, 404, { error: `no route ${url.pathname}` });
      }
    } catch (error) {
      deps.logger?.error({ err: error, url: req.url }, 'HTTP request failed');
      if (!res.headersSent) sendJson(res, 500, { error: (error as Error).message });
      else res.destroy();
    } finally {
      requests.labels(route, String(res.statusCode)).inc();
    }
  };

  const { server, closeTls }: { server: Server; closeTls: () => void } = createHttpOrHttpsServer(
    options.security,
    (req, res) => void handle(req, res),
    deps.registry,
    deps.logger,
    { limits: options, serverName: 'node' },
  );
  await listenServer(server, options.listen.host, options.listen.port);
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((done) => {
        closeTls();
        server.close(() => done());
        server.closeAllConnections();
      }),
  };
}
