/** Backoff and timeouts shared by every writer: each network or disk call is bounded in time. */
import { setTimeout as sleep } from 'node:timers/promises';
import { WriterError } from './errors.js';

export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
}

/** Capped exponential backoff with full jitter on its upper half, so many writers do not retry in step. */
export function backoffDelay(attempt: number, { baseMs, maxMs }: BackoffOptions): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

/** Rejects with a `timeout` WriterError when `work` has not settled after `ms` (the work itself is not stopped). */
export async function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new WriterError('timeout', `${what} timed out after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** Waits `ms`, or less when `signal` aborts (a close cuts a backoff short). */
export async function pause(ms: number, signal?: AbortSignal): Promise<void> {
  try {
    await sleep(ms, undefined, { signal });
  } catch {
    // aborted: the caller looks at why
  }
}
