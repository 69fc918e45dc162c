/** A log's counters on /metrics, named under the program's prefix (`accumulator_wal`, `relay_spool`). */
import type { CounterChild, MetricsRegistry } from '../metrics.js';

/** What the counters mean in the program using the log (each has a plain default). */
export interface LogMetricHelp {
  appendErrors?: string;
  droppedBytes?: string;
  deletedSegments?: string;
  replayedRecords?: string;
}

export class LogMetrics {
  readonly appendedRecords: CounterChild;
  readonly appendedBytes: CounterChild;
  readonly appendErrors: CounterChild;
  readonly syncErrors: CounterChild;
  readonly droppedBytes: CounterChild;
  readonly droppedSegments: CounterChild;
  readonly deletedSegments: CounterChild;
  readonly replayedRecords: CounterChild;
  readonly tornBytes: { truncated: (reason: string) => CounterChild };

  constructor(
    registry: MetricsRegistry,
    prefix: string,
    sizes: () => { bytes: number; segments: number },
    help: LogMetricHelp = {},
  ) {
    const counter = (name: string, text: string): CounterChild => registry.counter(`${prefix}_${name}`, text).labels();
    this.appendedRecords = counter('appended_records_total', 'Records appended to the log');
    this.appendedBytes = counter('appended_bytes_total', 'Bytes appended to the log');
    this.appendErrors = counter('append_errors_total', help.appendErrors ?? 'Appends that failed (a full disk)');
    this.syncErrors = counter('sync_errors_total', 'Failed fsyncs of the log');
    this.droppedBytes = counter(
      'dropped_bytes_total',
      help.droppedBytes ?? 'Bytes of the oldest segments dropped past the bound on the log',
    );
    this.droppedSegments = counter('dropped_segments_total', 'Segments dropped past the bound on the log');
    this.deletedSegments = counter(
      'deleted_segments_total',
      help.deletedSegments ?? 'Segments deleted once nothing in them was needed any more',
    );
    this.replayedRecords = counter(
      'replayed_records_total',
      help.replayedRecords ?? 'Records replayed from the log at start-up (after a crash)',
    );
    const torn = registry.counter(
      `${prefix}_truncated_bytes_total`,
      'Bytes cut from the log at start-up: a torn tail (short) or damage (crc, length, and the record fields)',
      ['reason'],
    );
    this.tornBytes = { truncated: (reason) => torn.labels(reason) };
    registry.gauge(`${prefix}_bytes`, 'Bytes in the log', [], (g) => g.labels().set(sizes().bytes));
    registry.gauge(`${prefix}_segments`, 'Segments in the log', [], (g) => g.labels().set(sizes().segments));
  }
}
