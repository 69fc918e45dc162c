/**
 * A render worker (worker_threads): evaluates renders the pool hands it, one at a time, asking the ingest thread
 * for every read. Its heap is the render's memory budget (the pool sets resourceLimits); the pool terminates it
 * when a render outlives its time budget, so a runaway function cannot hold the node.
 */
import { parentPort } from 'node:worker_threads';
import { QueryError } from './errors.js';
import { runRender } from './render-job.js';
import { matchHere, type FromMatchWorker, type ToMatchWorker } from './match-pool.js';
import type { FromWorker, ToWorker } from './render-pool.js';
import type { LoadedSeries, LoadRequest } from './series-loader.js';

const port = parentPort;
if (!port) throw new Error('render-worker.js runs only as a worker thread');

let nextLoad = 0;
const loads = new Map<number, { resolve: (s: LoadedSeries[]) => void; reject: (e: Error) => void }>();

function send(message: FromWorker, transfer: ArrayBuffer[] = []): void {
  port!.postMessage(message, transfer);
}

function loaderFor(id: number) {
  return (request: LoadRequest): Promise<LoadedSeries[]> =>
    new Promise((resolve, reject) => {
      const loadId = nextLoad++;
      loads.set(loadId, { resolve, reject });
      send({ type: 'load', id, loadId, request });
    });
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
  if (message.type === 'loaded') {
    const load = loads.get(message.loadId);
    if (!load) return;
    loads.delete(message.loadId);
    if (message.error) load.reject(new QueryError(message.error.message, message.error.status));
    else load.resolve(message.series ?? []);
    return;
  }
  const { id, job } = message;
  runRender(job, loaderFor(id)).then(
    (answer) => {
      const body = ownBytes(answer.body);
      send({ type: 'done', id, contentType: answer.contentType, text: typeof answer.body === 'string', body }, [
        body.buffer as ArrayBuffer,
      ]);
    },
    (error: unknown) => {
      if (error instanceof QueryError) send({ type: 'failed', id, message: error.message, status: error.status });
      else
        send({
          type: 'failed',
          id,
          message: String(error instanceof Error ? (error.stack ?? error) : error),
          status: 500,
        });
    },
  );
});
