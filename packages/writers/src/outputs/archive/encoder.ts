/**
 * Runs the archive's encoding (JSON lines and zstd, encode.ts) on a worker thread of its own, so a 10 MiB chunk's
 * hundreds of milliseconds of formatting do not stall the main thread's ingest (docs/ARCHITECTURE.md, the writer
 * catalogue). The main thread only copies each batch's columns and posts them. The thread starts with the first
 * chunk, does not keep the process alive, and is started again if it dies; `close()` ends it.
 */
import { Worker } from 'node:worker_threads';
import type { FlushBatch } from '@carillon/core';
import type { ArchiveBatch } from './encode.js';
import { builtThreadScript } from '../../thread-script.js';

export interface EncodeRequest {
  id: number;
  chunk: ArchiveBatch[];
  level: number;
}

export type EncodeReply = { id: number; data: Uint8Array } | { id: number; error: string };

interface Pending {
  resolve(data: Buffer): void;
  reject(error: Error): void;
}

/** The built thread script (vitest runs this module from src; a worker thread needs the compiled file). */
function threadScript(): string {
  return builtThreadScript(import.meta.url, 'encoder-thread.js', 'archive encoder');
}

export class ArchiveEncoder {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;

  constructor(private readonly name: string) {}

  /** The chunk as compressed JSON lines. Only the batches' names and StatPoint columns are posted (copied). */
  encode(chunk: readonly FlushBatch[], level: number): Promise<Buffer> {
    const worker = this.worker ?? this.start();
    const id = this.nextId++;
    // A copy of each view: posting a subarray would clone its whole underlying buffer.
    const batches: ArchiveBatch[] = chunk.map((b) => ({
      time: b.time,
      names: b.names,
      stats: b.stats.slice(),
      resolution: { step: b.resolution.step, ttl: b.resolution.ttl },
    }));
    const request: EncodeRequest = { id, chunk: batches, level };
    return new Promise<Buffer>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage(
        request,
        batches.map((b) => b.stats.buffer as ArrayBuffer),
      );
    });
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    if (worker !== undefined) await worker.terminate();
  }

  private start(): Worker {
    const worker = new Worker(threadScript(), { name: `${this.name}-encoder` });
    worker.unref();
    worker.on('message', (reply: EncodeReply) => {
      const p = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      if ('data' in reply) p?.resolve(Buffer.from(reply.data.buffer, reply.data.byteOffset, reply.data.byteLength));
      else p?.reject(new Error(`archive encoder: ${reply.error}`));
    });
    // A dead thread fails what it held (the queue retries it) and is started again by the next chunk.
    const fail = (error: Error): void => {
      if (this.worker === worker) this.worker = undefined;
      for (const p of this.pending.values()) p.reject(error);
      this.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`archive encoder thread exited (code ${code})`)));
    this.worker = worker;
    return worker;
  }
}
