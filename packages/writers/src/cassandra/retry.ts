/** Retrying one statement with exponential backoff, and running many with a bound on how many are in flight. */
import type { RetryOptions } from './options.js';

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `attempt` until it succeeds or `options.maxRetries` retries failed; `onRetry` counts each retry. */
export async function withRetries<T>(
  attempt: () => Promise<T>,
  options: RetryOptions,
  onRetry: (error: unknown) => void,
): Promise<T> {
  let delay = options.baseDelayMs;
  for (let retry = 0; ; retry++) {
    try {
      return await attempt();
    } catch (error) {
      if (retry >= options.maxRetries) throw error;
      onRetry(error);
      await sleep(delay);
      delay = Math.min(delay * 2, options.maxDelayMs);
    }
  }
}

/** Calls `run(i)` for i in [0, count) with at most `limit` calls in flight; resolves when all settled. */
export async function forEachBounded(count: number, limit: number, run: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < count) await run(next++);
  };
  const lanes: Promise<void>[] = [];
  for (let i = 0; i < Math.min(limit, count); i++) lanes.push(lane());
  await Promise.all(lanes);
}
