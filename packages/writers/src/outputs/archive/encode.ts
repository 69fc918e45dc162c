/**
 * The archive's CPU work, in one place for the encoder thread: a chunk's points as JSON lines, zstd-compressed.
 * Pure (no I/O, no shared state), so it runs the same in a worker thread as anywhere.
 */
import { zstdCompressSync, constants as zlib } from 'node:zlib';
import { forEachRow, type PointRow, type RowBatch } from '../rows.js';

/** What of a FlushBatch the archive needs; what is posted to the encoder thread. */
export type ArchiveBatch = RowBatch;

/** One archived line: a row with its step named `resolution` (the field order is the literal's below). */
export type ArchiveRecord = Omit<PointRow, 'step'> & { resolution: number };

/** The chunk as zstd-compressed JSON lines (with the frame checksum, so `zstd -t` verifies a file). */
export function encodeArchive(chunk: readonly ArchiveBatch[], level: number): Buffer {
  const lines: string[] = [];
  forEachRow(chunk, (r) => {
    const record: ArchiveRecord = {
      name: r.name,
      resolution: r.step,
      time: r.time,
      sum: r.sum,
      mean: r.mean,
      min: r.min,
      max: r.max,
      first: r.first,
      last: r.last,
      count: r.count,
      ttl: r.ttl,
    };
    lines.push(JSON.stringify(record));
  });
  return zstdCompressSync(Buffer.from(`${lines.join('\n')}\n`), {
    params: { [zlib.ZSTD_c_compressionLevel]: level, [zlib.ZSTD_c_checksumFlag]: 1 },
  });
}
