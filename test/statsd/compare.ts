/**
 * Compares the reference daemon's flushes with carillon's windows, series by series and value by value, and
 * sorts every difference into one of the explanations documented in docs/STATSD.md, or into "unexplained".
 */

export type Flushes = Map<number, Map<string, number>>;

/**
 * The reference's own statistics (`statsd.numStats`, `stats.statsd.*`, `stats_counts.statsd.*`,
 * `stats.gauges.statsd.timestamp_lag`, `graphiteStats.*`): every one has a `statsd` path node. carillon reports
 * its own on /metrics instead (docs/STATSD.md, "Self-metrics"); generated keys never hold that node.
 */
export function isReferenceSelfMetric(name: string): boolean {
  return /(^|\.)statsd\./.test(name.split(';')[0]!);
}

/**
 * Graphite's canonical form of a tagged name: tags sorted by name, the last of a repeated name wins. The reference
 * sends DogStatsD tags in arrival order; carbon stores the canonical form, which is what carillon emits.
 */
export function graphiteCanonical(name: string): string {
  const [path, ...tags] = name.split(';');
  if (tags.length === 0) return name;
  const byName = new Map<string, string>();
  for (const tag of tags) {
    const eq = tag.indexOf('=');
    byName.set(tag.slice(0, eq), tag.slice(eq + 1));
  }
  const sorted = [...byName.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `${path!};${sorted.map(([k, v]) => `${k}=${v}`).join(';')}`;
}

export interface Difference {
  time: number;
  name: string;
  reference: number | undefined;
  carillon: number | undefined;
}

export interface Comparison {
  /** Series values compared and equal. */
  equal: number;
  /** Reference self-metrics left out. */
  selfMetrics: number;
  /** Differences by explanation (keys are docs/STATSD.md headings). */
  explained: Map<string, number>;
  unexplained: Difference[];
}

export interface CompareOptions {
  /** `h`/`d` key path → its `ms` twin's path, when h/d are timers in carillon (not compatHAndDAsCounters). */
  histogramTwins?: Map<string, string>;
  /** carillon window for a reference flush stamp: the interval's start, or the stamp itself with compat. */
  windowOf: (flushTime: number) => number;
}

const same = (a: number, b: number): boolean => a === b || (Number.isNaN(a) && Number.isNaN(b));

/** The `h`/`d` key a series name belongs to, if any (names are `...cmp.h.N...`, `...cmp.d.N...`). */
function histogramKeyOf(name: string): string | undefined {
  return /(?:^|\.)(cmp\.[hd]\.\d+)(?=[.;]|$)/.exec(name)?.[1];
}

/**
 * The reference reads cumulativeValues[-1] when a negative percentile takes every value and sends NaN for its
 * mean, sum and sum_squares; carillon sends the statistic over all values, which is the reference's own
 * un-thresholded value of the same timer in the same flush.
 */
function wholeValueForNaN(name: string, referenceValue: number, got: number, expected: Map<string, number>): boolean {
  if (!Number.isNaN(referenceValue) || !/\.(mean|sum|sum_squares)_top\d+(?=[.;]|$)/.test(name)) return false;
  const whole = expected.get(name.replace(/_top\d+(?=[.;]|$)/, ''));
  return whole !== undefined && same(whole, got);
}

export function compareFlushes(
  reference: Flushes,
  carillon: Flushes,
  times: number[],
  options: CompareOptions,
): Comparison {
  const result: Comparison = { equal: 0, selfMetrics: 0, explained: new Map(), unexplained: [] };
  const explain = (why: string): void => void result.explained.set(why, (result.explained.get(why) ?? 0) + 1);
  const twins = options.histogramTwins;
  const twinOf = new Map<string, string>();
  for (const [key, twin] of twins ?? []) twinOf.set(twin, key);

  for (const time of times) {
    const expected = new Map<string, number>();
    for (const [name, value] of reference.get(time) ?? new Map<string, number>()) {
      if (isReferenceSelfMetric(name)) result.selfMetrics++;
      else expected.set(graphiteCanonical(name), value);
    }
    const actual = carillon.get(options.windowOf(time)) ?? new Map<string, number>();

    for (const [name, value] of expected) {
      const got = actual.get(name);
      if (got !== undefined && same(got, value)) {
        result.equal++;
        // Every timer series of an ms twin must exist, with the same value, for its h/d key in carillon.
        const twin = twins && /(?:^|\.)(cmp\.[hd]ms\.\d+)(?=[.;]|$)/.exec(name)?.[1];
        if (twin) {
          const own = name.replace(twin, twinOf.get(twin)!);
          if (!actual.has(own)) result.unexplained.push({ time, name: own, reference: value, carillon: undefined });
        }
        continue;
      }
      if (twins && got === undefined && histogramKeyOf(name) !== undefined) {
        explain('h and d are timers');
        continue;
      }
      if (got !== undefined && wholeValueForNaN(name, value, got, expected)) {
        explain('Negative percentile taking every value');
        continue;
      }
      result.unexplained.push({ time, name, reference: value, carillon: got });
    }

    for (const [name, value] of actual) {
      if (expected.has(name)) continue;
      const key = histogramKeyOf(name);
      if (twins && key !== undefined) {
        // carillon's timer output for an h/d key must be exactly the reference's for the ms twin.
        const twinName = name.replace(key, twins.get(key)!);
        const twinValue = expected.get(twinName);
        if (twinValue !== undefined && same(twinValue, value)) {
          explain('h and d are timers');
          continue;
        }
        if (twinValue !== undefined && wholeValueForNaN(twinName, twinValue, value, expected)) {
          explain('Negative percentile taking every value');
          continue;
        }
      }
      result.unexplained.push({ time, name, reference: undefined, carillon: value });
    }
  }
  return result;
}
