/**
 * A file opened by descriptor and used through Node's callback fs API. Whisper writes are 12-byte positioned writes,
 * so per-call overhead dominates: the callback API costs about half of what the FileHandle promise API does (see
 * bench/whisper.bench.ts).
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';

/** What the whisper format needs of an open file: positioned reads and writes. `FileHandle` satisfies it too. */
export interface RandomAccessFile {
  read(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
  write(buffer: Buffer, offset: number, length: number, position: number): Promise<unknown>;
  truncate(length: number): Promise<void>;
  close(): Promise<void>;
}

/** What a whisper store needs of a file it writes: RandomAccessFile, its size and fsync. */
export interface WhisperFile extends RandomAccessFile {
  size(): Promise<number>;
  sync(): Promise<void>;
}

export class FdFile implements WhisperFile {
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
 * A file used through synchronous positioned calls, for a thread that owns its thread (the whisper write thread,
 * a render worker): no round trip through libuv's thread pool, which costs several times the 12-byte read or write
 * itself. Each call returns a settled promise, so the format code is the same for both kinds of file.
 */
export class SyncFile implements WhisperFile {
  private constructor(readonly fd: number) {}

  /** `flags` as fs.open: 'r' (read-only: the system refuses writes), 'r+', 'wx+', ... */
  static open(path: string, flags: string): SyncFile {
    return new SyncFile(fs.openSync(path, flags, 0o644));
  }

  read(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }> {
    return settled(() => ({ bytesRead: fs.readSync(this.fd, buffer, offset, length, position) }));
  }

  /** Writes all of `length` bytes, continuing after a short write. */
  write(buffer: Buffer, offset: number, length: number, position: number): Promise<void> {
    return settled(() => {
      for (let done = 0; done < length;)
        done += fs.writeSync(this.fd, buffer, offset + done, length - done, position + done);
    });
  }

  truncate(length: number): Promise<void> {
    return settled(() => fs.ftruncateSync(this.fd, length));
  }

  size(): Promise<number> {
    return settled(() => fs.fstatSync(this.fd).size);
  }

  sync(): Promise<void> {
    return settled(() => fs.fsyncSync(this.fd));
  }

  close(): Promise<void> {
    return settled(() => fs.closeSync(this.fd));
  }
}

function settled<T>(call: () => T): Promise<T> {
  try {
    return Promise.resolve(call());
  } catch (error) {
    return Promise.reject(error as Error);
  }
}

/** How a store opens its files: through the thread pool (a store on the ingest thread) or synchronously. */
export type OpenFile = (path: string, flags: string) => Promise<WhisperFile>;

export const openFdFile: OpenFile = (path, flags) => FdFile.open(path, flags);

export const openSyncFile: OpenFile = (path, flags) => settled(() => SyncFile.open(path, flags));

/**
 * The directory calls of creating a file (mkdir -p, link, unlink) beside `open`. The write thread makes them
 * synchronously too: through libuv's pool each costs a round trip of about 20 µs of CPU beside the call itself,
 * three per file created.
 */
export interface FileSystem {
  open: OpenFile;
  /** mkdir -p. */
  makeDirectory(path: string): Promise<void>;
  link(existingPath: string, newPath: string): Promise<void>;
  unlink(path: string): Promise<void>;
}

export const poolFileSystem: FileSystem = {
  open: openFdFile,
  makeDirectory: async (path) => void (await fsp.mkdir(path, { recursive: true })),
  link: (existingPath, newPath) => fsp.link(existingPath, newPath),
  unlink: (path) => fsp.unlink(path),
};

export const syncFileSystem: FileSystem = {
  open: openSyncFile,
  makeDirectory: (path) => settled(() => void fs.mkdirSync(path, { recursive: true })),
  link: (existingPath, newPath) => settled(() => fs.linkSync(existingPath, newPath)),
  unlink: (path) => settled(() => fs.unlinkSync(path)),
};
