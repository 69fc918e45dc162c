/**
 * What every HTTP server of ours shares: a JSON answer, a request body read up to a limit, and the server itself
 * bounded in connections and request arrival time.
 */
import { createServer, type IncomingMessage, type Server, type ServerOptions, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { configKey } from './config-schema.js';
import type { MetricsRegistry } from './metrics.js';

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** A request body over the limit; nothing of it was kept. */
export class BodyTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`request body is larger than ${limit} bytes`);
    this.name = 'BodyTooLargeError';
  }
}

/**
 * Reads a request body of at most `maxBytes`. A larger one (declared or sent) is refused with BodyTooLargeError
 * before it is buffered; the rest is drained so the connection can still carry the answer (a 413).
 */
export async function readBodyLimited(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (declared > maxBytes) {
    req.resume();
    throw new BodyTooLargeError(maxBytes);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) {
      req.resume();
      throw new BodyTooLargeError(maxBytes);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** How many connections an HTTP server keeps, and how long a request may take to arrive. */
export interface HttpLimits {
  maxConnections: number;
  /** Headers not complete in this time: the connection is answered 408 and closed (slowloris). */
  headersTimeoutMs: number;
  /** The whole request (headers and body) not received in this time: likewise. */
  requestTimeoutMs: number;
}

/** The keys of an HTTP server's limits, shared by the node and the relay. */
export const HTTP_LIMIT_KEYS = {
  maxConnections: configKey.integer({
    key: 'http.max_connections',
    default: 1000,
    min: 1,
    unit: 'connections',
    description:
      'open HTTP connections; at it a new one closes the longest idle (counted as evicted), or is refused when all are busy (counted)',
  }),
  headersTimeoutMs: configKey.duration({
    key: 'http.headers_timeout',
    default: '10s',
    readAs: 'milliseconds',
    description: 'request headers not complete in this time: answered 408 and closed (slowloris)',
  }),
} as const;

/** How long a client that errs has to read its 400/408 before the connection is cut. */
const ERROR_LINGER_MS = 1_000;
/** How often Node checks the header and request timeouts (its default, 30 s, would let them run that much over). */
const TIMEOUT_CHECK_INTERVAL_MS = 1_000;

/**
 * An HTTP server bounded in connections and in the time a request may take to arrive. At `maxConnections`, a new
 * connection closes the oldest one that is not answering a request (a half-sent request, an idle keep-alive),
 * else it is refused; both are counted, as are timeouts and client errors
 * (`http_connections_*`, `http_client_errors_total`, labelled by `server`).
 */
export function createLimitedServer(
  limits: HttpLimits,
  registry: MetricsRegistry,
  serverName: string,
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Server {
  const server = createServer(limitedServerOptions(limits), handler);
  limitConnections(server, limits, registry, serverName);
  return server;
}

/** The timeouts of a limited server, for `http.createServer` or `https.createServer`. */
export function limitedServerOptions(limits: HttpLimits): ServerOptions {
  return {
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: Math.max(limits.requestTimeoutMs, limits.headersTimeoutMs),
    connectionsCheckingInterval: Math.min(TIMEOUT_CHECK_INTERVAL_MS, limits.headersTimeoutMs),
    keepAliveTimeout: 5_000,
  };
}

/**
 * The connection cap of createLimitedServer on a server made with limitedServerOptions. `connectionEvent`: an
 * HTTPS server's sockets are its `secureConnection`s (the sockets its requests see).
 */
export function limitConnections(
  server: Server,
  limits: HttpLimits,
  registry: MetricsRegistry,
  serverName: string,
  connectionEvent: 'connection' | 'secureConnection' = 'connection',
): void {
  const active = registry.gauge('http_connections_active', 'HTTP connections open now', ['server']).labels(serverName);
  const evicted = registry
    .counter('http_connections_evicted_total', 'Idle HTTP connections closed to make room at http.max_connections', [
      'server',
    ])
    .labels(serverName);
  const refused = registry
    .counter('http_connections_refused_total', 'HTTP connections closed at once: at http.max_connections, none idle', [
      'server',
    ])
    .labels(serverName);
  const clientErrors = registry.counter(
    'http_client_errors_total',
    'HTTP connections closed for a client error (timeout: headers or request not received in time)',
    ['server', 'reason'],
  );
  /** Open connections, least recently accepted or answered first (Set order: an answer moves one to the end). */
  const sockets = new Set<Socket>();
  const busy = new Set<Socket>();
  server.on(connectionEvent, (socket: Socket) => {
    if (sockets.size >= limits.maxConnections) {
      let victim: Socket | undefined;
      // The oldest not answering a request: a half-sent request or an idle keep-alive. A real request becomes
      // busy as soon as its headers are in, so a flood of new connections evicts its own older ones.
      for (const candidate of sockets)
        if (!busy.has(candidate)) {
          victim = candidate;
          break;
        }
      if (victim === undefined) {
        // Every connection is answering a request: the new one waits for none of them.
        refused.inc();
        socket.destroy();
        return;
      }
      sockets.delete(victim);
      evicted.inc();
      victim.destroy();
    }
    sockets.add(socket);
    active.inc();
    socket.once('close', () => {
      sockets.delete(socket);
      busy.delete(socket);
      active.dec();
    });
  });
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const socket = req.socket;
    busy.add(socket);
    res.once('close', () => {
      busy.delete(socket);
      if (sockets.delete(socket)) sockets.add(socket);
    });
  });
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    const timeout = error.code === 'ERR_HTTP_REQUEST_TIMEOUT';
    clientErrors.labels(serverName, timeout ? 'timeout' : (error.code ?? 'other').toLowerCase()).inc();
    if (!socket.writable || error.code === 'ECONNRESET') {
      socket.destroy();
      return;
    }
    socket.end(`HTTP/1.1 ${timeout ? '408 Request Timeout' : '400 Bad Request'}\r\nConnection: close\r\n\r\n`);
    // A client that does not read the answer still loses the connection.
    setTimeout(() => socket.destroy(), ERROR_LINGER_MS).unref();
  });
}
