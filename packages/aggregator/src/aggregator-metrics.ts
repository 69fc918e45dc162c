import type { CounterChild, GaugeChild, HistogramChild, MetricsRegistry } from '@carillon/core';

/** The aggregator's counters, held as children so the hot path bumps a number. */
export class AggregatorMetrics {
  readonly graphitePoints: CounterChild;
  readonly statsdSamples: CounterChild;
  readonly statsdPoints: CounterChild;
  readonly latePoints: CounterChild;
  readonly futurePoints: CounterChild;
  /** Graphite points for windows already closed, merged into them (amends). */
  readonly amendedPoints: CounterChild;
  /** Graphite points older than max_lateness, refused. */
  readonly tooOldPoints: CounterChild;
  /** Replay from a log: points refused because their window was written before the crash, or refused then too. */
  readonly replayRefused: { written: CounterChild; refusedThen: CounterChild };
  readonly flushes: CounterChild;
  readonly flushesSkipped: CounterChild;
  readonly windowsDropped: CounterChild;
  readonly pointsDropped: CounterChild;
  readonly nonFinitePoints: CounterChild;
  readonly statsdValuesDropped: CounterChild;
  readonly statsdKeysDisowned: CounterChild;
  readonly series: GaugeChild;
  readonly pendingPoints: GaugeChild;
  readonly openPoints: GaugeChild;
  readonly flushDuration: HistogramChild;

  constructor(registry: MetricsRegistry) {
    const points = registry.counter('aggregator_points_total', 'Points aggregated into the finest windows, by source', [
      'source',
    ]);
    this.graphitePoints = points.labels('graphite');
    this.statsdPoints = points.labels('statsd');
    this.statsdSamples = registry.counter('aggregator_statsd_samples_total', 'StatsD samples taken in').labels();
    this.latePoints = registry
      .counter(
        'aggregator_late_points_total',
        'StatsD samples (and output) for intervals whose window already closed, dropped',
      )
      .labels();
    this.amendedPoints = registry
      .counter(
        'aggregator_amended_points_total',
        'Graphite points for windows already flushed, merged into the stored windows at every resolution',
      )
      .labels();
    this.futurePoints = registry
      .counter('aggregator_future_points_total', 'Points stamped too far ahead of the clock, dropped')
      .labels();
    const replayRefused = registry.counter(
      'aggregator_replay_refused_points_total',
      'Points replayed from the write-ahead log and not aggregated: their window was written before the restart, or its log dropped past wal.max_bytes (written), or they were late or future when first received (refused_then)',
      ['reason'],
    );
    this.replayRefused = {
      written: replayRefused.labels('written'),
      refusedThen: replayRefused.labels('refused_then'),
    };
    this.flushes = registry.counter('aggregator_flushes_total', 'Flush ticks that handed windows to the sink').labels();
    this.flushesSkipped = registry
      .counter('aggregator_flushes_skipped_total', 'Flush ticks skipped because the sink was overloaded')
      .labels();
    this.windowsDropped = registry
      .counter('aggregator_windows_dropped_total', 'Closed windows dropped past the pending-points limit')
      .labels();
    this.pointsDropped = registry
      .counter('aggregator_points_dropped_total', 'Points in closed windows dropped past the pending-points limit')
      .labels();
    const refused = registry.counter(
      'aggregator_points_refused_total',
      'Points or window StatPoints refused, by reason (non_finite: a sum or value overflowed to ±Infinity; too_old: a Graphite point older than aggregator.max_lateness)',
      ['reason'],
    );
    this.nonFinitePoints = refused.labels('non_finite');
    this.tooOldPoints = refused.labels('too_old');
    this.statsdValuesDropped = registry
      .counter(
        'aggregator_statsd_values_dropped_total',
        'StatsD timer values, set members and gauge deltas dropped past the per-interval limit',
      )
      .labels();
    this.statsdKeysDisowned = registry
      .counter(
        'aggregator_statsd_keys_disowned_total',
        'StatsD keys (per type) whose state was dropped at a flush because another member owns them for that interval',
      )
      .labels();
    this.series = registry.gauge('aggregator_series', 'Series names known to the aggregator').labels();
    this.pendingPoints = registry
      .gauge('aggregator_pending_points', 'Points in closed windows not yet handed to the sink')
      .labels();
    this.openPoints = registry.gauge('aggregator_open_points', 'Points in windows still open').labels();
    this.flushDuration = registry
      .histogram(
        'aggregator_flush_duration_seconds',
        'Time one flush tick took',
        [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
      )
      .labels();
  }
}
