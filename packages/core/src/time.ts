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
 * Parses a duration such as `10s`, `1m`, `168h`, `30d` into whole seconds. `key` names the config key in the
 * error when the text is not a duration.
 */
export function parseDuration(text: string, key: string): number {
  const match = /^(\d+)(s|m|h|d|w|y)$/.exec(text.trim());
  if (!match) throw new ConfigError(key, `"${text}" is not a duration like 10s, 1m, 168h or 30d`);
  const seconds = Number(match[1]) * UNIT_SECONDS[match[2]!]!;
  if (seconds <= 0) throw new ConfigError(key, `"${text}" must be longer than zero`);
  return seconds;
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
