/**
 * `ring.placement`: how StatsD keys are placed on accumulators. The relay routes by it and the accumulator checks
 * ownership by it, so both programs read and validate the key here, the same way.
 */
import { ConfigError, type ConfigSource } from '@carillon/core';

export const STATSD_PLACEMENTS = ['carillon', 'statsd-proxy'] as const;
/**
 * `carillon`: MurmurHash3 of the canonical name on the versioned ring, like Graphite. `statsd-proxy`: the reference
 * StatsD proxy's hashring (StatsdProxyRing) over the static members, keyed by the raw line text before its first
 * `:`, so carillon takes over from the proxy without moving any key. Graphite lines always use the carillon ring.
 */
export type StatsdPlacement = (typeof STATSD_PLACEMENTS)[number];

export const PLACEMENT_KEY = 'ring.placement';

/**
 * Reads `ring.placement` (default `carillon`). `statsd-proxy` needs the static `accumulators` list: the proxy has no
 * membership, its nodes are a fixed list in a fixed order, and the member ids must be its `host:port` node names.
 */
export function readStatsdPlacement(source: ConfigSource, redisUrl: string): StatsdPlacement {
  const placement = source.oneOf(PLACEMENT_KEY, STATSD_PLACEMENTS, 'carillon');
  if (placement === 'statsd-proxy' && redisUrl !== '')
    throw new ConfigError(
      PLACEMENT_KEY,
      "statsd-proxy placement needs the static accumulators list (ids = the proxy's host:port nodes, in its order), not ring.redis_url",
    );
  return placement;
}
