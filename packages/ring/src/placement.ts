/**
 * `ring.placement`: how StatsD keys are placed on accumulators. The relay routes by it and the accumulator checks
 * ownership by it; both read it through readRingConfig (ring-config.ts).
 */

export const STATSD_PLACEMENTS = ['carillon', 'statsd-proxy'] as const;
/**
 * `carillon`: MurmurHash3 of the canonical name on the versioned ring, like Graphite. `statsd-proxy`: the reference
 * StatsD proxy's hashring (StatsdProxyRing) over the static members, keyed by the raw line text before its first
 * `:`, so carillon takes over from the proxy without moving any key. Graphite lines always use the carillon ring.
 */
export type StatsdPlacement = (typeof STATSD_PLACEMENTS)[number];

export const PLACEMENT_KEY = 'ring.placement';
