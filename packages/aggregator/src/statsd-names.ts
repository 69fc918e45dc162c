import type { StatsdOptions } from './statsd-options.js';

/**
 * Graphite names for StatsD output, built as the reference Graphite backend's `format(namespace, key, ...)`:
 * namespace, the key's path, then the suffix nodes, then globalSuffix, then the key's tags (`;k=v...`) — so
 * prefixes and suffixes touch the path only and tags survive unchanged.
 */
export class StatsdNames {
  private readonly counters: string;
  private readonly counts: string;
  private readonly timers: string;
  private readonly gauges: string;
  private readonly sets: string;
  private readonly suffix: string;

  constructor(private readonly options: StatsdOptions) {
    if (options.legacyNamespace) {
      // The reference ignores globalPrefix and prefix* in the legacy namespace.
      this.counters = 'stats.';
      this.counts = 'stats_counts.';
      this.timers = 'stats.timers.';
      this.gauges = 'stats.gauges.';
      this.sets = 'stats.sets.';
    } else {
      const ns = (prefix: string): string => [options.globalPrefix, prefix].filter((p) => p !== '').join('.');
      const withDot = (text: string): string => (text === '' ? '' : `${text}.`);
      this.counters = withDot(ns(options.prefixCounter));
      this.counts = this.counters;
      this.timers = withDot(ns(options.prefixTimer));
      this.gauges = withDot(ns(options.prefixGauge));
      this.sets = withDot(ns(options.prefixSet));
    }
    this.suffix = options.globalSuffix === '' ? '' : `.${options.globalSuffix}`;
  }

  /** Counter per-second rate: `stats.<key>` (legacy) or `<ns>.<key>.rate`. */
  counterRate(key: string): string {
    return this.format(this.counters, key, this.options.legacyNamespace ? '' : '.rate');
  }

  /** Counter raw count: `stats_counts.<key>` (legacy) or `<ns>.<key>.count`. */
  counterCount(key: string): string {
    return this.format(this.counts, key, this.options.legacyNamespace ? '' : '.count');
  }

  /** Timer value `<ns>.<key>.<metric>`; `metric` may hold dots (`histogram.bin_10`). */
  timer(key: string, metric: string): string {
    return this.format(this.timers, key, `.${metric}`);
  }

  gauge(key: string): string {
    return this.format(this.gauges, key, '');
  }

  setCount(key: string): string {
    return this.format(this.sets, key, '.count');
  }

  private format(namespace: string, key: string, nodes: string): string {
    const semicolon = key.indexOf(';');
    if (semicolon < 0) return namespace + key + nodes + this.suffix;
    return namespace + key.slice(0, semicolon) + nodes + this.suffix + key.slice(semicolon);
  }
}
