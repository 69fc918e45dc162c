/** The write-ahead log's counters on /metrics: every limit and every drop. */
import type { CounterChild, MetricsRegistry } from '@carillon/core';

export class WalMetrics {
  readonly appendedRecords: CounterChild;
  readonly appendedBytes: CounterChild;
  readonly appendErrors: CounterChild;
  readonly syncErrors: CounterChild;
  readonly droppedBytes: CounterChild;
  readonly droppedSegments: CounterChild;
  readonly deletedSegments: CounterChild;
  readonly replayedRecords: CounterChild;
  readonly tornBytes: { truncated: (reason: string) => CounterChild };

  constructor(registry: MetricsRegistry, sizes: () => { bytes: number; segments: number }) {
    const counter = (name: string, help: string): CounterChild => registry.counter(name, help).labels();
    this.appendedRecords = counter('accumulator_wal_appended_records_total', 'Records appended to the write-ahead log');
    this.appendedBytes = counter('accumulator_wal_appended_bytes_total', 'Bytes appended to the write-ahead log');
    this.appendErrors = counter(
      'accumulator_wal_append_errors_total',
      'Appends that failed (a full disk): their lines were aggregated but are not in the log, so a crash loses them',
    );
    this.syncErrors = counter('accumulator_wal_sync_errors_total', 'Failed fsyncs of the write-ahead log');
    this.droppedBytes = counter(
      'accumulator_wal_dropped_bytes_total',
      'Bytes of the oldest segments dropped past wal.max_bytes: a crash before their windows are written loses them',
    );
    this.droppedSegments = counter('accumulator_wal_dropped_segments_total', 'Segments dropped past wal.max_bytes');
    this.deletedSegments = counter(
      'accumulator_wal_deleted_segments_total',
      'Segments deleted because every window they touched was written at the coarsest resolution',
    );
    this.replayedRecords = counter(
      'accumulator_wal_replayed_records_total',
      'Records replayed from the log at start-up (after a crash)',
    );
    const torn = registry.counter(
      'accumulator_wal_truncated_bytes_total',
      'Bytes cut from the log at start-up: a torn tail (short) or damage (crc, length, version, format, relay_id)',
      ['reason'],
    );
    this.tornBytes = { truncated: (reason) => torn.labels(reason) };
    registry.gauge('accumulator_wal_bytes', 'Bytes in the write-ahead log', [], (g) => g.labels().set(sizes().bytes));
    registry.gauge('accumulator_wal_segments', 'Segments in the write-ahead log', [], (g) =>
      g.labels().set(sizes().segments),
    );
  }
}
