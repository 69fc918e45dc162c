/**
 * The relay's HTTP surface: /metrics (Prometheus), /healthz, /ring (versions and per-destination queues), and the
 * Graphite API for the whole cluster (cluster-read.ts).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { nowSeconds, type ListenAddress, type Logger, type MetricsRegistry } from '@carillon/core';
import type { RingSchedule } from '@carillon/ring';
import type { LinkDepth } from '@carillon/transport';

export interface RingReport {
  relayId: string;
  now: number;
  /** The version in force now, then those that take effect later. */
  current: VersionReport | null;
  pending: VersionReport[];
  destinations: LinkDepth[];
}

interface VersionReport {
  version: number;
  effectiveFrom: number;
  members: { id: string; address: string; weight: number }[];
}

export function ringReport(relayId: string, schedule: RingSchedule, destinations: LinkDepth[]): RingReport {
  const now = nowSeconds();
  const current = schedule.versionAt(now);
  const describe = (v: NonNullable<typeof current>): VersionReport => ({
    version: v.version,
    effectiveFrom: v.effectiveFrom,
    members: v.members.map((m) => ({ id: m.id, address: m.address, weight: m.weight ?? 1 })),
  });
  return {
    relayId,
    now,
    current: current ? describe(current) : null,
    pending: schedule.versions.filter((v) => v.effectiveFrom > now && v !== current).map(describe),
    destinations,
  };
}

/** The Graphite API over the cluster: answers its routes, false for any other path. */
export type ApiHandler = (request: IncomingMessage, response: ServerResponse) => Promise<boolean>;

export async function startHttpServer(
  listen: ListenAddress,
  metrics: MetricsRegistry,
  report: () => RingReport,
  api?: ApiHandler,
  logger?: Logger,
): Promise<{ server: Server; port: number }> {
  const own = new Set(['/metrics', '/healthz', '/ring']);
  const server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0]!;
    if (api && !own.has(path)) {
      api(request, response)
        .then((handled) => {
          if (!handled) response.writeHead(404).end();
        })
        .catch((error: unknown) => {
          logger?.error({ err: error, url: request.url }, 'graphite api request failed');
          if (!response.headersSent) response.writeHead(500).end();
          else response.destroy();
        });
      return;
    }
    if (request.method !== 'GET') {
      response.writeHead(405, { allow: 'GET' }).end();
      return;
    }
    if (path === '/metrics') {
      response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(metrics.render());
    } else if (path === '/healthz') {
      response.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    } else if (path === '/ring') {
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(report(), null, 2));
    } else {
      response.writeHead(404).end();
    }
  });
  // Bounded request handling: no request may hold a socket for long.
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => resolve());
  });
  const address = server.address();
  return { server, port: typeof address === 'object' && address ? address.port : listen.port };
}
