/** What the protocol parsers produce and the aggregator consumes. */

export interface GraphiteSample {
  /** Canonical name: `path` or `path;k=v;...` with tags sorted. */
  name: string;
  value: number;
  /** Whole epoch seconds. */
  timestamp: number;
}

export type StatsdType = 'c' | 'g' | 'ms' | 'h' | 'd' | 's';

export interface StatsdSample {
  /** Canonical name after StatsD key sanitizing; DogStatsD `|#k:v` tags become Graphite tags. */
  name: string;
  type: StatsdType;
  /** The number; NaN for sets. */
  value: number;
  /** The set member for `s`, '' otherwise. */
  member: string;
  /** `@0.1` → 0.1; 1 when absent. */
  sampleRate: number;
  /** A gauge written with a leading `+` or `-`: add to the current value instead of replacing it. */
  gaugeDelta: boolean;
}
