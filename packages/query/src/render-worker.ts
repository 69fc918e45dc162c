/**
 * A render worker (worker_threads): evaluates renders the pool hands it, one at a time. It asks the ingest thread
 * for the names of every read and the windows not stored yet; with a worker reader of the store (workerData) it
 * reads the values itself, else it asks the ingest thread for them too. Its heap is the render's memory budget
 * (the pool sets resourceLimits); the pool terminates it when a render outlives its time budget, so a runaway
 * function cannot hold the node.
 */
import { setImmediate } from 'node:timers/promises';
import { parentPort, workerData } from 'node:worker_threads';
import type { OpenWorkerReader, SeriesReader } from '@carillon/core';
import { QueryError } from './errors.js';
import { runRender } from './render-job.js';
import { matchHere, type FromMatchWorker, type ToMatchWorker } from './match-pool.js';
import type { FromWorker, ToWorker, WorkerReads } from './render-pool.js';
import { storedValues, withPending } from './series-fetch.js';
import { SeriesReads, type LoadedSeries, type LoadRequest, type ResolvedRead } from './series-loader.js';
import { niceThisThread } from './thread-priority.js';

const port = parentPort;
if (!port) throw new Error('render-worker.js runs only as a worker thread');

const data = workerData as { reads?: WorkerReads; nice?: number } | null;
// render work yields the CPU to the ingest thread on a busy machine (query.worker_nice)
if (data?.nice) niceThisThread(data.nice);
const reads = data?.reads;
/** The store's reader, opened once; undefined when every read is made on the ingest thread. */
const reader: Promise<SeriesReader & { readonly errors: number }> | undefined = reads
  ? import(reads.reader.module).then((m: { openWorkerReader: OpenWorkerReader }) =>
      m.openWorkerReader(reads.reader.options),
    )
  : undefined;
// a module that fails to load fails each render's reads (500), not the worker
reader?.catch(() => undefined);
let reportedErrors = 0;

let nextLoad = 0;
const loads = new Map<number, { resolve: (answer: unknown) => void; reject: (e: Error) => void }>();
/** The reads of the render running, so a cancel from the pool stops them. */
let running: { id: number; reads: SeriesReads } | undefined;

function send(message: FromWorker, transfer: ArrayBuffer[] = []): void {
  port!.postMessage(message, transfer);
}

function ask<T>(type: 'load' | 'resolve', id: number, request: LoadRequest): Promise<T> {
  return new Promise((resolve, reject) => {
    const loadId = nextLoad++;
    loads.set(loadId, { resolve: resolve as (answer: unknown) => void, reject });
    send({ type, id, loadId, request });
  });
}

function loaderFor(id: number): (request: LoadRequest) => Promise<LoadedSeries[]> {
  if (!reads || !reader) return (request) => ask<LoadedSeries[]>('load', id, request);
  // a macrotask between chunks of reads, so the pool's cancel message is seen
  const own = new SeriesReads(reads.limits, () => setImmediate());
  running = { id, reads: own };
  return async (request) => {
    const resolved = await ask<ResolvedRead>('resolve', id, request);
    const store = await reader;
    return own.read(resolved, request, async (name, window, pending) =>
      withPending(await storedValues(store, name, window), pending),
    );
  };
}

/** A read task (a cluster Fetch): each series stored plus pending, in chunks that let a cancel arrive. */
async function readMany(message: Extract<ToWorker, { type: 'read' }>): Promise<Float64Array[]> {
  if (!reads || !reader) throw new Error('render worker has no reader of the store');
  const store = await reader;
  const own = new SeriesReads(reads.limits, () => setImmediate());
  running = { id: message.id, reads: own };
  const { names, window, pending } = message;
  const out: Float64Array[] = [];
  for (let i = 0; i < names.length; i += reads.limits.fetchConcurrency) {
    if (i > 0) await own.pause();
    const chunk = names.slice(i, i + reads.limits.fetchConcurrency);
    for (const name of chunk) out.push(withPending(await storedValues(store, name, window), pending.get(name)));
  }
  return out;
}

/** Failed reads since the last answer. */
async function readErrors(): Promise<number> {
  if (!reader) return 0;
  const errors = (await reader).errors;
  const fresh = errors - reportedErrors;
  reportedErrors = errors;
  return fresh;
}

/** A fresh, whole buffer: a Buffer may be a slice of a shared pool, which must not be transferred. */
function ownBytes(body: string | Buffer): Uint8Array {
  if (typeof body === 'string') return new TextEncoder().encode(body);
  const copy = new Uint8Array(body.length);
  copy.set(body);
  return copy;
}

port.on('message', (message: ToWorker | ToMatchWorker) => {
  if (message.type === 'match') {
    let answer: FromMatchWorker;
    try {
      const result = matchHere(message.kind, message.pattern, message.texts);
      answer = { type: 'matched', chunk: message.chunk, result };
    } catch (error) {
      answer = { type: 'matched', chunk: message.chunk, error: error instanceof Error ? error.message : String(error) };
    }
    port!.postMessage(answer, answer.result ? [answer.result.buffer as ArrayBuffer] : []);
    return;
  }
  if (message.type === 'cancel') {
    if (running?.id === message.id) running.reads.cancel(message.reason);
    return;
  }
  if (message.type === 'loaded' || message.type === 'resolved') {
    const load = loads.get(message.loadId);
    if (!load) return;
    loads.delete(message.loadId);
    if (message.error) load.reject(new QueryError(message.error.message, message.error.status));
    else load.resolve(message.type === 'loaded' ? (message.series ?? []) : message.read);
    return;
  }
  if (message.type === 'read') {
    const { id } = message;
    readMany(message).then(
      async (values) => {
        send(
          { type: 'read-done', id, values, readErrors: await readErrors() },
          values.map((v) => v.buffer as ArrayBuffer),
        );
      },
      async (error: unknown) => {
        const status = error instanceof QueryError ? error.status : 500;
        send({
          type: 'failed',
          id,
          message: String(error instanceof Error ? error.message : error),
          status,
          readErrors: await readErrors(),
        });
      },
    );
    return;
  }
  const { id, job } = message;
  runRender(job, loaderFor(id)).then(
    async (answer) => {
      const body = ownBytes(answer.body);
      const done = { contentType: answer.contentType, text: typeof answer.body === 'string', body };
      send({ type: 'done', id, ...done, readErrors: await readErrors() }, [body.buffer as ArrayBuffer]);
    },
    async (error: unknown) => {
      const readErrorCount = await readErrors();
      if (error instanceof QueryError)
        send({ type: 'failed', id, message: error.message, status: error.status, readErrors: readErrorCount });
      else
        send({
          type: 'failed',
          id,
          message: String(error instanceof Error ? (error.stack ?? error) : error),
          status: 500,
          readErrors: readErrorCount,
        });
    },
  );
});
