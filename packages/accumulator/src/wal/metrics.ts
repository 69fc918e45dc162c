/** The write-ahead log's counters on /metrics (`accumulator_wal_*`): every limit and every drop. */
import { LogMetrics, type MetricsRegistry } from '@carillon/core';

export class WalMetrics extends LogMetrics {
  constructor(registry: MetricsRegistry, sizes: () => { bytes: number; segments: number }) {
    super(registry, 'accumulator_wal', sizes, {
      appendErrors:
        'Appends that failed (a full disk): their lines were aggregated but are not in the log, so a crash loses them',
      droppedBytes:
        'Bytes of the oldest segments dropped past wal.max_bytes: a crash before their windows are written loses them',
      deletedSegments: 'Segments deleted because every window they touched was written at the coarsest resolution',
    });
  }
}
