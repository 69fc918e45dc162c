/**
 * The `[http]` security keys both programs read: the bearer token of write and admin routes, and TLS of the
 * port. `createHttpOrHttpsServer` is the one place an HTTP server of ours is made, plain or TLS (reloaded).
 */
import { createServer as createHttpServer, type RequestListener, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { tokenProblem } from './auth.js';
import { configKey } from './config-schema.js';
import { ConfigError } from './errors.js';
import type { ConfigSource } from './config.js';
import type { Logger } from './log.js';
import { limitConnections, limitedServerOptions, type HttpLimits } from './http.js';
import type { MetricsRegistry } from './metrics.js';
import { attachTls, readTlsFiles, ReloadingTls, tlsKeys, TLS_RELOAD_INTERVAL_KEY, type TlsFiles } from './tls.js';

export const HTTP_TOKEN_KEY = configKey.string({
  key: 'http.token',
  default: '',
  description:
    'bearer token required by POST /lines and /ring ("Authorization: Bearer <token>"); wrong or missing is refused with 401, counted; "" = open',
});

export const HTTP_TLS_KEYS = tlsKeys('http', 'the HTTP port');

export interface HttpSecurity {
  token: string;
  tls: TlsFiles | undefined;
  reloadIntervalMs: number;
}

export function readHttpSecurity(source: ConfigSource): HttpSecurity {
  const token = source.read(HTTP_TOKEN_KEY);
  const problem = tokenProblem(token);
  if (problem) throw new ConfigError(HTTP_TOKEN_KEY.key, problem);
  return {
    token,
    tls: readTlsFiles(source, HTTP_TLS_KEYS),
    reloadIntervalMs: source.read(TLS_RELOAD_INTERVAL_KEY),
  };
}

export interface SecureServer {
  server: Server;
  /** Stops watching the certificate files. */
  closeTls(): void;
}

/** A plain HTTP server, or HTTPS over `tls` with its files reloaded and refused handshakes counted. */
export function createHttpOrHttpsServer(
  tls: Pick<HttpSecurity, 'tls' | 'reloadIntervalMs'> | undefined,
  handler: RequestListener,
  metrics: MetricsRegistry,
  logger?: Logger,
  /** Connection cap and timeouts (http.ts), labelled `serverName` in the counters. */
  limits?: { limits: HttpLimits; serverName: string },
): SecureServer {
  const options = limits ? limitedServerOptions(limits.limits) : {};
  const limit = (server: Server, event: 'connection' | 'secureConnection'): void => {
    if (limits) limitConnections(server, limits.limits, metrics, limits.serverName, event);
  };
  if (!tls?.tls) {
    const server = createHttpServer(options, handler);
    limit(server, 'connection');
    return { server, closeTls: () => {} };
  }
  const reloading = new ReloadingTls(tls.tls, {
    name: 'http',
    reloadIntervalMs: tls.reloadIntervalMs,
    metrics,
    logger,
  });
  const server = createHttpsServer({ ...reloading.serverOptions(), ...options }, handler);
  attachTls(server, reloading, metrics);
  limit(server, 'secureConnection');
  return { server, closeTls: () => reloading.close() };
}
