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
import { encodeRender, evaluateRender, runRender, type RenderJob, type RenderPart } from './render-job.js';
import { answerShape, type AnswerShape, type RenderBody } from './render-output.js';
import { partOfRead } from './render-split.js';
import { matchHere, type FromMatchWorker, type ToMatchWorker } from './match-pool.js';
import type { FromWorker, ResolvedOutcome, ToWorker, WorkerReads } from './render-pool.js';
import { storedValues, withPending, type FetchWindow, type PendingSlots } from './series-fetch.js';
import {
  SeriesReads,
  type LoadedSeries,
  type LoadOutcome,
  type LoadRequest,
  type ResolvedRead,
  type SeriesLoad,
  type SeriesLoadMany,
} from './series-loader.js';
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
/**
 * The task running, so a cancel from the pool stops its reads, or a part of a split render waiting for the
 * answer's shape (`encode`).
 */
let running:
  | {
      id: number;
      reads?: SeriesReads;
      cancelled?: string;
      encode?: { resolve: (shape: AnswerShape) => void; reject: (error: Error) => void };
    }
  | undefined;

function send(message: FromWorker, transfer: ArrayBuffer[] = []): void {
  port!.postMessage(message, transfer);
}

function ask<T>(
  message:
    | { type: 'load' | 'resolve'; id: number; request: LoadRequest }
    | { type: 'resolve-many'; id: number; requests: LoadRequest[] },
): Promise<T> {
  return new Promise((resolve, reject) => {
    const loadId = nextLoad++;
    loads.set(loadId, { resolve: resolve as (answer: unknown) => void, reject });
    send({ ...message, loadId });
  });
}

function loaderFor(id: number, part: RenderPart | undefined): { load: SeriesLoad; loadMany?: SeriesLoadMany } {
  if (!reads || !reader) return { load: (request) => ask<LoadedSeries[]>({ type: 'load', id, request }) };
  const limits = reads.limits;
  // a macrotask between chunks of reads, so the pool's cancel message is seen
  const own = new SeriesReads(limits, () => setImmediate(), true, part && new BigInt64Array(part.bytes));
  running = { id, reads: own };
  const share = part?.by === 'series' ? (read: ResolvedRead) => partOfRead(read, part) : (read: ResolvedRead) => read;
  const readValues =
    (store: SeriesReader) =>
    async (name: string, window: FetchWindow, pending: PendingSlots | undefined, into?: Float64Array) =>
      withPending(await storedValues(store, name, window, into), pending);
  return {
    load: async (request) => {
      const resolved = share(await ask<ResolvedRead>({ type: 'resolve', id, request }));
      return own.read(resolved, request, readValues(await reader));
    },
    // every read of the render resolved in one round trip, then read here in order
    loadMany: async (requests) => {
      const resolved = await ask<ResolvedOutcome[]>({ type: 'resolve-many', id, requests: [...requests] });
      const read = readValues(await reader);
      const outcomes: LoadOutcome[] = [];
      let sincePause = 0;
      for (const [i, answer] of resolved.entries()) {
        try {
          if ('error' in answer) throw new QueryError(answer.error.message, answer.error.status);
          // a turn for a cancel every so many series, as one read's chunks give
          if (sincePause >= limits.fetchConcurrency) {
            await own.pause();
            sincePause = 0;
          }
          sincePause += answer.read.names.length;
          outcomes.push({ series: await own.read(share(answer.read), requests[i]!, read) });
        } catch (error) {
          outcomes.push({ error: error instanceof Error ? error : new Error(String(error)) });
          break;
        }
      }
      return outcomes;
    },
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

/**
 * A part of a split render: evaluated, its shape sent to the pool, then encoded with the whole answer's shape once
 * every part is evaluated (or given up at a cancel).
 */
async function renderPart(
  id: number,
  job: RenderJob,
  load: SeriesLoad,
  loadMany?: SeriesLoadMany,
): Promise<RenderBody> {
  const series = await evaluateRender(job, load, loadMany);
  const shape = await new Promise<AnswerShape>((resolve, reject) => {
    if (running?.id !== id) return reject(new QueryError('the render was stopped', 503));
    if (running.cancelled !== undefined) return reject(new QueryError(running.cancelled, 503));
    running.encode = { resolve, reject };
    send({ type: 'evaluated', id, shape: answerShape(series) });
  });
  return encodeRender(series, job, shape);
}

/** Failed reads since the last answer. */
async function readErrors(): Promise<number> {
  if (!reader) return 0;
  const errors = (await reader).errors;
  const fresh = errors - reportedErrors;
  reportedErrors = errors;
  return fresh;
}

/**
 * Bytes whose buffer may be transferred: a Buffer may be a slice of a shared pool, so it is copied unless the
 * answer owns its buffer (the JSON answer: a 30 MB copy spared).
 */
function ownBytes({ body, ownsBuffer }: RenderBody): Uint8Array {
  if (typeof body === 'string') return new TextEncoder().encode(body);
  if (ownsBuffer && Buffer.isBuffer(body)) return new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
  // pieces (made only by the pool, never here) are copied like a slice of the pool
  const pieces = Buffer.isBuffer(body) ? [body] : body;
  const copy = new Uint8Array(pieces.reduce((n, piece) => n + piece.length, 0));
  let at = 0;
  for (const piece of pieces) {
    copy.set(piece, at);
    at += piece.length;
  }
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
    if (running?.id !== message.id) return;
    running.cancelled = message.reason;
    running.reads?.cancel(message.reason);
    running.encode?.reject(new QueryError(message.reason, 503));
    return;
  }
  if (message.type === 'encode') {
    if (running?.id === message.id) running.encode?.resolve(message.shape);
    return;
  }
  if (message.type === 'loaded' || message.type === 'resolved' || message.type === 'resolved-many') {
    const load = loads.get(message.loadId);
    if (!load) return;
    loads.delete(message.loadId);
    if (message.type === 'resolved-many') load.resolve(message.reads);
    else if (message.error) load.reject(new QueryError(message.error.message, message.error.status));
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
  running = { id };
  const { load, loadMany } = loaderFor(id, job.part);
  (job.part ? renderPart(id, job, load, loadMany) : runRender(job, load, loadMany)).then(
    async (answer) => {
      const body = ownBytes(answer);
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
