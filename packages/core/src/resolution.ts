import { ConfigError } from './errors.js';
import { formatDuration, parseDuration } from './time.js';

/** One rollup level: windows of `step` seconds kept for `ttl` seconds. */
export interface Resolution {
  /** Position in the configured list, finest first. */
  index: number;
  step: number;
  ttl: number;
  /** The canonical text, e.g. `10s:168h`. */
  name: string;
}

/**
 * Parses `times = ["10s:168h", "1m:720h", "10m:21600h"]`. Steps must grow and each must be a whole multiple
 * of the one before, so that a coarser window is exactly a merge of finer ones.
 */
export function parseResolutions(specs: readonly string[], key = 'times'): Resolution[] {
  if (specs.length === 0) throw new ConfigError(key, 'needs at least one resolution like "10s:168h"');
  const resolutions: Resolution[] = [];
  specs.forEach((spec, index) => {
    const itemKey = `${key}[${index}]`;
    if (typeof spec !== 'string') throw new ConfigError(itemKey, 'must be a string like "10s:168h"');
    const parts = spec.split(':');
    if (parts.length !== 2) throw new ConfigError(itemKey, `"${spec}" must be step:retention, like "10s:168h"`);
    const step = parseDuration(parts[0]!, itemKey);
    const ttl = parseDuration(parts[1]!, itemKey);
    if (ttl < step) throw new ConfigError(itemKey, `retention ${parts[1]} is shorter than the step ${parts[0]}`);
    const previous = resolutions[index - 1];
    if (previous) {
      if (step <= previous.step)
        throw new ConfigError(
          itemKey,
          `step ${parts[0]} must be longer than the previous step ${formatDuration(previous.step)}`,
        );
      if (step % previous.step !== 0)
        throw new ConfigError(
          itemKey,
          `step ${parts[0]} is not a multiple of the previous step ${formatDuration(previous.step)}`,
        );
    }
    resolutions.push({ index, step, ttl, name: `${formatDuration(step)}:${formatDuration(ttl)}` });
  });
  return resolutions;
}

/** The finest resolution whose retention still covers `fromSeconds` at time `nowSeconds`. */
export function resolutionCovering(
  resolutions: readonly Resolution[],
  fromSeconds: number,
  nowSecs: number,
): Resolution {
  for (const resolution of resolutions) {
    if (nowSecs - resolution.ttl <= fromSeconds) return resolution;
  }
  return resolutions[resolutions.length - 1]!;
}
