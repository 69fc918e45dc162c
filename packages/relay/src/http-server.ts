/**
 * The relay's HTTP surface: /metrics (Prometheus), /livez, /readyz and /healthz (readiness; core health.ts),
 * /ring (versions and per-destination queues; behind `http.token` when set, as it names the relay's id and the
 * cluster's members and addresses), and the Graphite API for the whole cluster (cluster-read.ts). Bounded in
 * connections and request time (core http.ts).
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import {
  createHttpOrHttpsServer,
  listenServer,
  nowSeconds,
  sendHealth,
  TokenGate,
  type Health,
  type HttpLimits,
  type HttpSecurity,
  type ListenAddress,
  type Logger,
  type MetricsRegistry,
} from '@carillon/core';
import type { RingSchedule } from '@carillon/ring';
import type { LinkDepth } from '@carillon/transport';

export interface RingReport {
  relayId: string;
  now: number;
  /** The version in force now, then those that take effect later. */
  current: VersionReport | null;
  pending: VersionReport[];
  destinations: LinkDepth[];
  /** With ingest workers (`relay.workers` > 1): each one's identity and links; `destinations` merges them. */
  workers?: { relayId: string; destinations: LinkDepth[] }[];
}

interface VersionReport {
  version: number;
  effectiveFrom: number;
  members: { id: string; address: string; weight: number }[];
}

export function ringReport(
  relayId: string,
  schedule: RingSchedule,
  destinations: LinkDepth[],
  workers?: RingReport['workers'],
): RingReport {
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
    ...(workers ? { workers } : {}),
  };
}

/** The relay's own requests are short GETs; a request must arrive whole within this. */
const RELAY_REQUEST_TIMEOUT_MS = 10_000;

/** The Graphite API over the cluster: answers its routes, false for any other path. */
export type ApiHandler = (request: IncomingMessage, response: ServerResponse) => Promise<boolean>;

export async function startHttpServer(
  http: { listen: ListenAddress | null; maxConnections: number; headersTimeoutMs: number },
  metrics: MetricsRegistry,
  health: Health,
  report: () => RingReport,
  security?: HttpSecurity,
  api?: ApiHandler,
  logger?: Logger,
  /** Brings the metrics up to date before a /metrics render (the ingest workers' counters). */
  collect?: () => Promise<void>,
): Promise<{ server: Server; port: number; closeTls: () => void }> {
  const listen = http.listen!;
  const limits: HttpLimits = { ...http, requestTimeoutMs: RELAY_REQUEST_TIMEOUT_MS };
  const admin = new TokenGate(security?.token ?? '', metrics, 'ring');
  const own = new Set(['/metrics', '/livez', '/readyz', '/healthz', '/ring']);
  const { server, closeTls } = createHttpOrHttpsServer(
    security,
    (request, response) => {
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
        const render = (): void => {
          response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(metrics.render());
        };
        if (collect) void collect().then(render);
        else render();
      } else if (path === '/livez') {
        sendHealth(response, health.liveness());
      } else if (path === '/readyz' || path === '/healthz') {
        sendHealth(response, health.readiness());
      } else if (path === '/ring') {
        if (!admin.admit(request, response)) return;
        response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(report(), null, 2));
      } else {
        response.writeHead(404).end();
      }
    },
    metrics,
    logger,
    { limits, serverName: 'relay' },
  );
  await listenServer(server, listen.host, listen.port);
  const address = server.address();
  return { server, port: typeof address === 'object' && address ? address.port : listen.port, closeTls };
}
