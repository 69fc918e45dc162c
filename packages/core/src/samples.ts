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

/**
 * A StatsD sample read from a line's bytes (the common `key:value|type[|@rate]` line): its key, and a set's
 * member, are byte ranges of `bytes`, valid only during the call that is handed the sample. The key is the
 * canonical name as ASCII; `keyHash` is its FNV-1a (byte-hash.ts), computed as it was read.
 */
export interface StatsdBytesSample {
  bytes: Uint8Array;
  keyStart: number;
  keyEnd: number;
  keyHash: number;
  type: StatsdType;
  /** The number; NaN for sets. */
  value: number;
  /** A set's member `bytes[memberStart, memberEnd)`; an empty member is `0`, as in StatsdSample. */
  memberStart: number;
  memberEnd: number;
  sampleRate: number;
  gaugeDelta: boolean;
}

/** A StatsdBytesSample to read lines into again and again (of `bytes`, or of none yet). */
export function reusableStatsdBytesSample(bytes: Uint8Array = new Uint8Array(0)): StatsdBytesSample {
  return {
    bytes,
    keyStart: 0,
    keyEnd: 0,
    keyHash: 0,
    type: 'c',
    value: 0,
    memberStart: 0,
    memberEnd: 0,
    sampleRate: 1,
    gaugeDelta: false,
  };
}
