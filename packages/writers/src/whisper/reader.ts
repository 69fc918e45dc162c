/**
 * Read-only access to the whisper files of a data directory, for a worker thread (a render worker): the same
 * layout and format code as WhisperStore, files opened read-only for the one read and closed after it, with
 * synchronous reads (the worker owns its thread; libuv's pool stays free for the ingest thread's writes). Nothing
 * is cached, so a file the store creates, extends or replaces is read as it is now.
 */
import { join } from 'node:path';
import type { OpenWorkerReader, Resolution, SeriesReader, WorkerReaderSpec } from '@carillon/core';
import { SyncFile } from './fd-file.js';
import { readArchiveFloat64, readArchiveIntervals, readHeader, type ArchiveInfo, type ReadBuffer } from './format.js';
import { hashNamedRelativePath, whisperRelativePath } from './layout.js';

/** The windows a read of [from, until) covers at `step`: the first starts at `from` rounded up to the step. */
export function readSlots(step: number, from: number, until: number): { start: number; count: number } {
  const start = Math.ceil(from / step) * step;
  return { start, count: Math.max(0, Math.ceil((until - start) / step)) };
}

/** The largest read that reuses the reader's buffer (a 1-day archive at 10 s is 104 KB); larger reads allocate. */
const REUSED_BUFFER_BYTES = 4 << 20;

export class WhisperFileReader implements SeriesReader {
  /** Reads that failed other than for a missing file (read as empty, as WhisperStore does). */
  errors = 0;
  /**
   * One read runs at a time: the reads are synchronous anyway, and so every Float64 read can decode from the same
   * buffer (a 1,000-series render otherwise allocates 100 MB of read buffers for the collector to free).
   */
  private reads: Promise<unknown> = Promise.resolve();
  private buffer = Buffer.alloc(0);
  private readonly reusedBuffer: ReadBuffer = (size) => {
    if (size > REUSED_BUFFER_BYTES) return Buffer.allocUnsafe(size);
    if (this.buffer.length < size) this.buffer = Buffer.allocUnsafe(Math.max(size, 2 * this.buffer.length));
    return this.buffer.subarray(0, size);
  };

  constructor(readonly dataDir: string) {}

  /** As WhisperStore.fetch: one slot per window in [from, until), `null` where nothing is stored. */
  fetch(name: string, resolution: Resolution, from: number, until: number): Promise<(number | null)[]> {
    return this.readValues(name, resolution, from, until, readArchiveIntervals, (count) =>
      new Array<null>(count).fill(null),
    );
  }

  /** As WhisperStore.fetchFloat64: NaN where nothing is stored or it is not finite. */
  fetchFloat64(
    name: string,
    resolution: Resolution,
    from: number,
    until: number,
    into?: Float64Array,
  ): Promise<Float64Array> {
    const target = (count: number): Float64Array | undefined => (into?.length === count ? into : undefined);
    const decode = (file: SyncFile, archive: ArchiveInfo, start: number, count: number) =>
      readArchiveFloat64(file, archive, start, count, undefined, this.reusedBuffer, target(count));
    return this.readValues(name, resolution, from, until, decode, (count) =>
      (target(count) ?? new Float64Array(count)).fill(NaN),
    );
  }

  private readValues<T>(
    name: string,
    resolution: Resolution,
    from: number,
    until: number,
    decode: (file: SyncFile, archive: ArchiveInfo, start: number, count: number) => Promise<T>,
    empty: (count: number) => T,
  ): Promise<T> {
    const { start, count } = readSlots(resolution.step, from, until);
    const relativePath = whisperRelativePath(name);
    if (!relativePath || count === 0) return Promise.resolve(empty(count));
    const read = this.reads.then(() => {
      const file = this.open(relativePath, name);
      if (!file) return empty(count);
      return this.read(file, resolution.step, start, count, decode).then(
        (values) => values ?? empty(count),
        () => {
          this.errors++;
          return empty(count);
        },
      );
    });
    this.reads = read.catch(() => undefined); // a failed read must not stop the ones queued after it
    return read;
  }

  private async read<T>(
    file: SyncFile,
    step: number,
    start: number,
    count: number,
    decode: (file: SyncFile, archive: ArchiveInfo, start: number, count: number) => Promise<T>,
  ): Promise<T | null> {
    try {
      const header = await readHeader(file);
      const archive = header.archives.find((a) => a.secondsPerPoint === step);
      return archive ? await decode(file, archive, start, count) : null;
    } finally {
      await file.close();
    }
  }

  /** The readable file, else a carbon tree's hash-named one (as WhisperStore looks); undefined when neither. */
  private open(relativePath: string, name: string): SyncFile | undefined {
    for (const path of [relativePath, hashNamedRelativePath(name)]) {
      if (path === null) continue;
      try {
        return SyncFile.open(join(this.dataDir, path), 'r');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
          this.errors++;
          return undefined;
        }
      }
    }
    return undefined;
  }
}

/** The WorkerReaderSpec's entry point (WhisperStore.workerReader). */
export const openWorkerReader: OpenWorkerReader = (options) => {
  if (typeof options.dataDir !== 'string') throw new Error('whisper worker reader needs options.dataDir');
  return new WhisperFileReader(options.dataDir);
};

/** Where this module is built: a worker thread imports the compiled file (tests run the package from src). */
export function whisperWorkerReader(dataDir: string): WorkerReaderSpec {
  const module = import.meta.url.replace(/\/src\/whisper\/reader\.ts$/, '/dist/whisper/reader.js');
  return { module, options: { dataDir } };
}
