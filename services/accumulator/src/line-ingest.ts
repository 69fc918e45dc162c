/**
 * Lines to samples to the aggregator: every line is parsed, and either accepted or rejected with a counted
 * reason. Shared by every way lines arrive (TCP, UDP, HTTP POST /lines, relay batches over gRPC).
 */
import type { MetricsRegistry, StatsdSample } from '@carillon/core';
import type { Aggregator } from '@carillon/aggregator';
import { LineCounters, decodeLine, parseGraphiteLine, parseStatsdLine, type RejectReason } from '@carillon/protocols';

export type LineFormat = 'graphite' | 'statsd';

export class LineIngest {
  readonly graphiteCounters: LineCounters;
  readonly statsdCounters: LineCounters;
  /** Reused for each StatsD line (a packed line yields several samples). */
  private readonly statsdSamples: StatsdSample[] = [];

  constructor(
    private readonly aggregator: Aggregator,
    registry: MetricsRegistry,
    private readonly nowSeconds: () => number = () => Math.floor(Date.now() / 1000),
  ) {
    this.graphiteCounters = new LineCounters(registry, 'graphite');
    this.statsdCounters = new LineCounters(registry, 'statsd');
  }

  countersFor(format: LineFormat): LineCounters {
    return format === 'graphite' ? this.graphiteCounters : this.statsdCounters;
  }

  /** A Graphite line as a byte range (listener callback shape). */
  readonly graphiteLine = (buf: Buffer, start: number, end: number): void => {
    this.graphiteText(decodeLine(buf, start, end));
  };

  /** A StatsD line as a byte range (listener callback shape). */
  readonly statsdLine = (buf: Buffer, start: number, end: number): void => {
    this.statsdText(decodeLine(buf, start, end));
  };

  graphiteText(line: string): RejectReason | undefined {
    const sample = parseGraphiteLine(line, this.nowSeconds());
    if (typeof sample === 'string') {
      this.graphiteCounters.reject(sample);
      return sample;
    }
    this.graphiteCounters.accept();
    this.aggregator.addGraphite(sample);
    return undefined;
  }

  statsdText(line: string): RejectReason | undefined {
    const samples = this.statsdSamples;
    samples.length = 0;
    const problem = parseStatsdLine(line, samples);
    if (problem !== undefined) {
      this.statsdCounters.reject(problem);
      return problem;
    }
    this.statsdCounters.accept();
    this.aggregator.addStatsdBatch(samples);
    return undefined;
  }

  /** One line of either format, for callers holding text (HTTP). */
  text(format: LineFormat, line: string): RejectReason | undefined {
    return format === 'graphite' ? this.graphiteText(line) : this.statsdText(line);
  }
}
