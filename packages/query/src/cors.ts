import type { IncomingMessage, ServerResponse } from 'node:http';

/** Which browser origins may read the Graphite API (Grafana's browser access, dashboards served elsewhere). */
export interface CorsOptions {
  /** Exact origins (`https://grafana.example.com`), or `*` for any. Empty: no CORS headers at all. */
  allowedOrigins: readonly string[];
  /** How long a browser may cache a preflight answer. */
  maxAgeSeconds?: number;
}

const ALLOWED_METHODS = 'GET, POST, OPTIONS';

/**
 * Sets the CORS headers a request from an allowed origin needs; returns whether the origin is allowed. A listed
 * origin is echoed with credentials allowed (Grafana's "with credentials"); `*` answers `*`, which browsers accept
 * only without credentials.
 */
export function applyCors(req: IncomingMessage, res: ServerResponse, options: CorsOptions | undefined): boolean {
  const origin = req.headers.origin;
  if (!options || options.allowedOrigins.length === 0 || origin === undefined) return false;
  res.setHeader('vary', 'Origin');
  if (options.allowedOrigins.includes(origin)) {
    res.setHeader('access-control-allow-origin', origin);
    res.setHeader('access-control-allow-credentials', 'true');
  } else if (options.allowedOrigins.includes('*')) {
    res.setHeader('access-control-allow-origin', '*');
  } else return false;
  return true;
}

/** Answers a preflight: 204 with the methods and the headers the browser asked to send. */
export function answerPreflight(req: IncomingMessage, res: ServerResponse, options: CorsOptions | undefined): void {
  const allowed = applyCors(req, res, options);
  if (allowed) {
    res.setHeader('access-control-allow-methods', ALLOWED_METHODS);
    const requested = req.headers['access-control-request-headers'];
    if (requested) res.setHeader('access-control-allow-headers', requested);
    res.setHeader('access-control-max-age', String(options?.maxAgeSeconds ?? 86_400));
  }
  res.setHeader('allow', ALLOWED_METHODS);
  res.writeHead(204);
  res.end();
}
