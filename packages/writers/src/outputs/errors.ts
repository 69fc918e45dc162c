/**
 * Why a delivery failed, as a counted kind. A permanent failure (the server refused the data itself: a 400, a
 * record too large) is not retried: the points are dropped and counted as `refused`. Everything else (timeouts,
 * connection failures, server errors, I/O) is retried with backoff.
 */
export const ERROR_KINDS = ['timeout', 'connect', 'server', 'refused', 'io', 'other'] as const;
export type ErrorKind = (typeof ERROR_KINDS)[number];

export class WriterError extends Error {
  constructor(
    readonly kind: ErrorKind,
    message: string,
    readonly permanent = false,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'WriterError';
  }
}

/** The kind of any thrown value: a WriterError's own, a Node system error's by its code, else `other`. */
export function errorKind(error: unknown): ErrorKind {
  if (error instanceof WriterError) return error.kind;
  const code = (error as { code?: unknown } | null)?.code;
  const name = (error as { name?: unknown } | null)?.name;
  if (name === 'TimeoutError' || code === 'ETIMEDOUT') return 'timeout';
  if (code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'EHOSTUNREACH' || code === 'ENOTFOUND')
    return 'connect';
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return 'io';
  return 'other';
}

export function isPermanent(error: unknown): boolean {
  return error instanceof WriterError && error.permanent;
}
