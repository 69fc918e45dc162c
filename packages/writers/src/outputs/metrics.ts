/**
 * The per-writer counters of the writer catalogue on /metrics, labelled by writer name. One set per registry:
 * gauges read every writer's state at render time, so several writers share one family.
 */
import type { Counter, Histogram, MetricsRegistry } from '@carillon/core';

/** What a writer reports at render time. */
export interface WriterGaugeSource {
  readonly name: string;
  queuedPoints(): number;
  batchSize(): number;
  lastLatencyMs(): number;
}

export interface OutputMetrics {
  pointsWritten: Counter;
  deliveries: Counter;
  bytes: Counter;
  errors: Counter;
  retries: Counter;
  dropped: Counter;
  latency: Histogram;
  /** Adds a writer to the gauges; returns its removal. */
  watch(source: WriterGaugeSource): () => void;
}

const byRegistry = new WeakMap<MetricsRegistry, OutputMetrics>();

export function outputMetrics(registry: MetricsRegistry): OutputMetrics {
  const known = byRegistry.get(registry);
  if (known !== undefined) return known;
  const sources = new Set<WriterGaugeSource>();
  const metrics: OutputMetrics = {
    pointsWritten: registry.counter('writer_points_written_total', 'Points a writer delivered', ['writer']),
    deliveries: registry.counter(
      'writer_deliveries_total',
      'Batches (requests, files, messages sets) a writer delivered',
      ['writer'],
    ),
    bytes: registry.counter('writer_bytes_total', 'Bytes a writer delivered (encoded payload)', ['writer']),
    errors: registry.counter('writer_errors_total', 'Failed deliveries by kind', ['writer', 'kind']),
    retries: registry.counter('writer_retries_total', 'Deliveries attempted again after a failure', ['writer']),
    dropped: registry.counter('writer_dropped_points_total', 'Points a writer gave up on, by reason', [
      'writer',
      'reason',
    ]),
    latency: registry.histogram(
      'writer_delivery_seconds',
      'Time one delivery took',
      [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 5, 30],
      ['writer'],
    ),
    watch(source) {
      sources.add(source);
      return () => sources.delete(source);
    },
  };
  registry.gauge('writer_queue_points', 'Points queued in a writer and not yet delivered', ['writer'], (gauge) => {
    for (const s of sources) gauge.labels(s.name).set(s.queuedPoints());
  });
  registry.gauge('writer_batch_size_points', 'Current (adaptive) batch size of a writer', ['writer'], (gauge) => {
    for (const s of sources) gauge.labels(s.name).set(s.batchSize());
  });
  registry.gauge('writer_last_latency_seconds', 'Latency of the last delivery of a writer', ['writer'], (gauge) => {
    for (const s of sources) gauge.labels(s.name).set(s.lastLatencyMs() / 1000);
  });
  byRegistry.set(registry, metrics);
  return metrics;
}
