/**
 * The latest value of every series, as the `/metrics` text a Prometheus scrape reads. A series' value is its
 * newest window's StatPoint reduced by the series' aggregation method (core aggregation.ts), from one configured
 * resolution (the finest by default: a coarser window would replace a fresher value with an older aggregate).
 * Bounded: past `maxSeries` new series are refused; a series not updated for `expireAfterMs` is dropped at the
 * next scrape or sweep; two Graphite series mapping to one Prometheus series keep the first (a scrape with a
 * duplicate series would be refused whole). Each refusal and expiry is counted.
 */
import { aggregationRuleFor, batchPoint, DEFAULT_AGGREGATION_RULES, splitCanonical, valueOf } from '@carillon/core';
import type { AggregationRule, FlushBatch, MetricsRegistry } from '@carillon/core';
import { mapSeries, seriesText, type CompiledRule } from './mapping.js';

export interface ExpositionOptions {
  /** The writer's name in counters. */
  name: string;
  rules: readonly CompiledRule[];
  aggregationRules?: readonly AggregationRule[];
  /** Index of the resolution exported (0: the finest). */
  resolutionIndex: number;
  maxSeries: number;
  expireAfterMs: number;
}

interface Entry {
  /** The exposition's series text; undefined when the name was refused (remembered, so it is counted once). */
  text: string | undefined;
  metricName: string;
  value: number;
  time: number;
  touchedMs: number;
}

type DropReason = 'limit' | 'collision' | 'invalid_name';

export class Exposition {
  private readonly byCanonical = new Map<string, Entry>();
  private readonly owners = new Map<string, string>();
  private readonly dropped: Record<DropReason, { inc(by?: number): void }>;
  private readonly expired;
  private readonly updated;

  constructor(
    private readonly options: ExpositionOptions,
    metrics: MetricsRegistry,
  ) {
    const w = options.name;
    const dropped = metrics.counter(
      'prometheus_writer_series_dropped_total',
      'series not exported, by reason (limit, collision, invalid_name)',
      ['writer', 'reason'],
    );
    this.dropped = {
      limit: dropped.labels(w, 'limit'),
      collision: dropped.labels(w, 'collision'),
      invalid_name: dropped.labels(w, 'invalid_name'),
    };
    this.expired = metrics
      .counter('prometheus_writer_series_expired_total', 'series dropped for not being updated', ['writer'])
      .labels(w);
    this.updated = metrics
      .counter('prometheus_writer_points_total', 'StatPoints that set an exported value', ['writer'])
      .labels(w);
    metrics.gauge('prometheus_writer_series', 'series exported', ['writer'], (gauge) =>
      gauge.labels(w).set(this.owners.size),
    );
  }

  update(batch: FlushBatch, nowMs: number): void {
    if (batch.resolution.index !== this.options.resolutionIndex) return;
    const rules = this.options.aggregationRules ?? DEFAULT_AGGREGATION_RULES;
    for (let i = 0; i < batch.names.length; i++) {
      const canonical = batch.names[i]!;
      let entry = this.byCanonical.get(canonical);
      if (entry?.text === undefined && entry !== undefined) continue;
      if (entry && batch.time < entry.time) continue;
      const method = aggregationRuleFor(splitCanonical(canonical).path, rules).method;
      const value = valueOf(batchPoint(batch, i), method);
      if (!entry) {
        const added = this.add(canonical, nowMs);
        if (!added) continue;
        entry = added;
      }
      entry.value = value;
      entry.time = batch.time;
      entry.touchedMs = nowMs;
      this.updated.inc();
    }
  }

  private add(canonical: string, nowMs: number): Entry | undefined {
    const series = mapSeries(canonical, this.options.rules);
    if (!series) {
      this.dropped.invalid_name.inc();
      // Remembered as refused (bounded by the same limit), so each flush does not count it again.
      if (this.byCanonical.size < this.options.maxSeries)
        this.byCanonical.set(canonical, { text: undefined, metricName: '', value: 0, time: 0, touchedMs: nowMs });
      return undefined;
    }
    const text = seriesText(series);
    if (this.owners.has(text)) {
      this.dropped.collision.inc();
      return undefined;
    }
    if (this.owners.size >= this.options.maxSeries) {
      this.dropped.limit.inc();
      return undefined;
    }
    const entry: Entry = { text, metricName: series.name, value: 0, time: Number.NEGATIVE_INFINITY, touchedMs: nowMs };
    this.byCanonical.set(canonical, entry);
    this.owners.set(text, canonical);
    return entry;
  }

  /** Drops series not updated for `expireAfterMs`. */
  sweep(nowMs: number): void {
    const limit = nowMs - this.options.expireAfterMs;
    for (const [canonical, entry] of this.byCanonical) {
      if (entry.touchedMs >= limit) continue;
      this.byCanonical.delete(canonical);
      if (entry.text !== undefined) {
        this.owners.delete(entry.text);
        this.expired.inc();
      }
    }
  }

  /** The exposition text: one TYPE line per metric name, its series after it. */
  render(nowMs: number): string {
    this.sweep(nowMs);
    const byName = new Map<string, string[]>();
    for (const entry of this.byCanonical.values()) {
      if (entry.text === undefined) continue;
      let lines = byName.get(entry.metricName);
      if (!lines) byName.set(entry.metricName, (lines = []));
      lines.push(`${entry.text} ${String(entry.value)}`);
    }
    let out = '';
    for (const [name, lines] of byName) out += `# TYPE ${name} gauge\n${lines.join('\n')}\n`;
    return out;
  }
}
