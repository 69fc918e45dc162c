import { ConfigError } from './errors.js';

const UNIT_SECONDS: Record<string, number> = {
  s: 1,
  m: 60,
  h: 3600,
  d: 86400,
  w: 7 * 86400,
  y: 365 * 86400,
};

/**
 * Parses a duration such as `100ms`, `10s`, `1m`, `168h`, `30d` into milliseconds. `key` names the config key in
 * the error when the text is not a duration.
 */
export function parseDurationMs(text: string, key: string): number {
  const match = /^(\d+)(ms|s|m|h|d|w|y)$/.exec(text.trim());
  if (!match) throw new ConfigError(key, `"${text}" is not a duration like 100ms, 10s, 1m, 168h or 30d`);
  const ms = match[2] === 'ms' ? Number(match[1]) : Number(match[1]) * 1000 * UNIT_SECONDS[match[2]!]!;
  if (ms <= 0) throw new ConfigError(key, `"${text}" must be longer than zero`);
  return ms;
}

/**
 * Parses a duration such as `10s`, `1m`, `168h`, `30d` into whole seconds (`ms` only when it makes whole
 * seconds, like `2000ms`). `key` names the config key in the error when the text is not a duration.
 */
export function parseDuration(text: string, key: string): number {
  const ms = parseDurationMs(text, key);
  if (ms % 1000 !== 0) throw new ConfigError(key, `"${text}" must be a whole number of seconds`);
  return ms / 1000;
}

/** Formats milliseconds as duration text: whole seconds as `5s`, the rest as `100ms`. */
export function formatDurationMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

/** Formats whole seconds back into the shortest exact duration text (`600` → `10m`). */
export function formatDuration(seconds: number): string {
  for (const unit of ['y', 'w', 'd', 'h', 'm'] as const) {
    const size = UNIT_SECONDS[unit]!;
    if (seconds % size === 0) return `${seconds / size}${unit}`;
  }
  return `${seconds}s`;
}

/** Start of the window of `step` seconds that holds `timestamp` (floor, also for negative times). */
export function windowStart(timestamp: number, step: number): number {
  return Math.floor(timestamp / step) * step;
}

/** Now in whole epoch seconds. */
export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
