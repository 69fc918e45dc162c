/**
 * Bearer tokens: the shared secret an HTTP client or a relay presents. Compared in constant time over digests (so
 * neither content nor length leaks through timing); every refusal is counted by endpoint and reason.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CounterChild, MetricsRegistry } from './metrics.js';

/** Shorter tokens are refused at start: a placeholder or a guessable word must not guard a port. */
export const MIN_TOKEN_LENGTH = 16;

/** Why a configured token is unusable, or undefined ('' = none configured is fine). */
export function tokenProblem(token: string): string | undefined {
  if (token === '') return undefined;
  if (token.length < MIN_TOKEN_LENGTH)
    return `must be at least ${MIN_TOKEN_LENGTH} characters (e.g. openssl rand -hex 32), got ${token.length}`;
  if (/\s/.test(token)) return 'must not contain blanks';
  return undefined;
}

export type AuthRefusal = 'missing_token' | 'wrong_token';

export function tokenMatches(presented: string | undefined, expected: string): boolean {
  if (presented === undefined) return false;
  const a = createHash('sha256').update(presented).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** The token of an `Authorization: Bearer <token>` header; undefined when absent or another scheme. */
export function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const match = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
  return match ? match[1] : undefined;
}

/** One configured token ('' = no authentication) and its refusal counters. */
export class TokenGate {
  private readonly refused: Record<AuthRefusal, CounterChild>;

  constructor(
    private readonly token: string,
    metrics: MetricsRegistry,
    endpoint: string,
  ) {
    const family = metrics.counter('auth_refused_total', 'Requests refused for a missing or wrong token', [
      'endpoint',
      'reason',
    ]);
    this.refused = {
      missing_token: family.labels(endpoint, 'missing_token'),
      wrong_token: family.labels(endpoint, 'wrong_token'),
    };
  }

  get enabled(): boolean {
    return this.token !== '';
  }

  /** Undefined when the presented token passes (or none is configured); otherwise the counted reason. */
  check(presented: string | undefined): AuthRefusal | undefined {
    if (this.token === '') return undefined;
    const reason: AuthRefusal | undefined =
      presented === undefined ? 'missing_token' : tokenMatches(presented, this.token) ? undefined : 'wrong_token';
    if (reason) this.refused[reason].inc();
    return reason;
  }

  /** Checks a request's bearer token; a refused one is answered 401 here and false returned. */
  admit(req: IncomingMessage, res: ServerResponse): boolean {
    const reason = this.check(bearerToken(req.headers.authorization));
    if (reason === undefined) return true;
    const body = JSON.stringify({ error: reason === 'missing_token' ? 'a bearer token is required' : 'wrong token' });
    req.resume();
    res
      .writeHead(401, {
        'content-type': 'application/json',
        'www-authenticate': 'Bearer realm="carillon"',
        'content-length': Buffer.byteLength(body),
      })
      .end(body);
    return false;
  }
}
