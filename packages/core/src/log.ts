import {
  pino,
  stdSerializers,
  type DestinationStream,
  type Logger,
  type LevelWithSilent,
  type LoggerOptions,
} from 'pino';

export type { Logger };

/** `scheme://user:password@host` → `scheme://user:***@host`: a URL's password never reaches a log line. */
export function redactUrlCredentials(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/[^:/@\s]*):[^@/\s]*@/gi, '$1:***@');
}

/**
 * pino's error serializer without the secrets errors carry: ioredis attaches the failed command with its
 * arguments (`AUTH <password>` when authentication fails), and messages or stacks may quote a connection URL.
 */
export function serializeError(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  const serialized = stdSerializers.err(error) as unknown as Record<string, unknown>;
  const command = serialized['command'];
  if (command && typeof command === 'object') {
    const name = (command as { name?: unknown }).name;
    // The command's name says what failed; its arguments are data or credentials, never needed in a log.
    serialized['command'] = { name: typeof name === 'string' ? name : 'unknown' };
  }
  for (const field of ['message', 'stack'])
    if (typeof serialized[field] === 'string') serialized[field] = redactUrlCredentials(serialized[field]);
  return serialized;
}

/** Structured JSON logs on stdout (pino). `level` comes from config; tests pass `silent`. */
export function createLogger(name: string, level: LevelWithSilent = 'info', destination?: DestinationStream): Logger {
  const options: LoggerOptions = {
    name,
    level,
    base: { service: name },
    serializers: { err: serializeError, error: serializeError },
  };
  return destination ? pino(options, destination) : pino(options);
}
