/**
 * A file opened by descriptor and used through Node's callback fs API. Whisper writes are 12-byte positioned writes,
 * so per-call overhead dominates: the callback API costs about half of what the FileHandle promise API does (see
 * bench/whisper.bench.ts).
 */
import fs from 'node:fs';

/** What the whisper format needs of an open file: positioned reads and writes. `FileHandle` satisfies it too. */
export interface RandomAccessFile {
  read(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
  write(buffer: Buffer, offset: number, length: number, position: number): Promise<unknown>;
  truncate(length: number): Promise<void>;
  close(): Promise<void>;
}

export class FdFile implements RandomAccessFile {
  private constructor(readonly fd: number) {}

  /** `flags` as fs.open: 'r', 'r+', 'wx+', ... */
  static open(path: string, flags: string): Promise<FdFile> {
    return new Promise((resolve, reject) =>
      fs.open(path, flags, 0o644, (error, fd) => (error ? reject(error) : resolve(new FdFile(fd)))),
    );
  }

  read(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }> {
    return new Promise((resolve, reject) =>
      fs.read(this.fd, buffer, offset, length, position, (error, bytesRead) =>
        error ? reject(error) : resolve({ bytesRead }),
      ),
    );
  }

  /** Writes all of `length` bytes, continuing after a short write. */
  write(buffer: Buffer, offset: number, length: number, position: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const step = (done: number) =>
        fs.write(this.fd, buffer, offset + done, length - done, position + done, (error, written) => {
          if (error) reject(error);
          else if (done + written >= length) resolve();
          else step(done + written);
        });
      step(0);
    });
  }

  truncate(length: number): Promise<void> {
    return new Promise((resolve, reject) =>
      fs.ftruncate(this.fd, length, (error) => (error ? reject(error) : resolve())),
    );
  }

  /** The file's size in bytes. */
  size(): Promise<number> {
    return new Promise((resolve, reject) =>
      fs.fstat(this.fd, (error, stats) => (error ? reject(error) : resolve(stats.size))),
    );
  }

  sync(): Promise<void> {
    return new Promise((resolve, reject) => fs.fsync(this.fd, (error) => (error ? reject(error) : resolve())));
  }

  close(): Promise<void> {
    return new Promise((resolve, reject) => fs.close(this.fd, (error) => (error ? reject(error) : resolve())));
  }
}

/**
 * A file read with synchronous positioned reads, for a worker thread that owns its thread: no round trip through
 * libuv's thread pool, which the ingest thread's whisper writes share. Read-only: writes are refused.
 */
export class SyncReadFile implements RandomAccessFile {
  private constructor(readonly fd: number) {}

  static open(path: string): SyncReadFile {
    return new SyncReadFile(fs.openSync(path, 'r'));
  }

  read(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }> {
    try {
      return Promise.resolve({ bytesRead: fs.readSync(this.fd, buffer, offset, length, position) });
    } catch (error) {
      return Promise.reject(error as Error);
    }
  }

  write(): Promise<void> {
    return Promise.reject(new Error('SyncReadFile is read-only'));
  }

  truncate(): Promise<void> {
    return Promise.reject(new Error('SyncReadFile is read-only'));
  }

  close(): Promise<void> {
    fs.closeSync(this.fd);
    return Promise.resolve();
  }
}
