/**
 * The node's whisper store: writes on the write thread (write-thread.ts), reads, the file listing and the render
 * workers' reader from a WhisperStore on the calling thread that never writes. Reads take no lock against the
 * writes (the render workers never did): a point is one 12-byte write, and a file appears only complete.
 */
import type {
  FlushBatch,
  Logger,
  MetricsRegistry,
  Resolution,
  SeriesReader,
  SeriesValues,
  WorkerReaderSpec,
  WriteOutcome,
  Writer,
} from '@carillon/core';
import { WhisperStore, type WhisperStoreConfig } from './store.js';
import { WhisperWriteThread } from './write-thread.js';

export class ThreadedWhisperStore implements Writer, SeriesReader {
  readonly name = 'whisper';
  private readonly files: WhisperStore;
  private readonly writes: WhisperWriteThread;

  constructor(config: WhisperStoreConfig, deps: { metrics: MetricsRegistry; logger?: Logger }) {
    this.files = new WhisperStore(config, deps);
    this.writes = new WhisperWriteThread(config, deps);
  }

  write(batch: FlushBatch): Promise<WriteOutcome> {
    return this.writes.write(batch);
  }

  storable(name: string): boolean {
    return this.files.storable(name);
  }

  fetch(name: string, resolution: Resolution, from: number, until: number): Promise<(number | null)[]> {
    return this.files.fetch(name, resolution, from, until);
  }

  fetchSeries(name: string, resolution: Resolution, from: number, until: number): Promise<SeriesValues> {
    return this.files.fetchSeries(name, resolution, from, until);
  }

  fetchFloat64(name: string, resolution: Resolution, from: number, until: number): Promise<Float64Array> {
    return this.files.fetchFloat64(name, resolution, from, until);
  }

  workerReader(): WorkerReaderSpec {
    return this.files.workerReader();
  }

  listSeries(): Promise<string[]> {
    return this.files.listSeries();
  }

  notLive(): string | undefined {
    return this.writes.notLive();
  }

  /** Writes what was handed over, then closes the files read here. */
  async close(): Promise<void> {
    await this.writes.close();
    await this.files.close();
  }
}
