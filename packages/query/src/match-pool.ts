/**
 * Glob and regex matching over many names, off the ingest thread. RE2JS is linear in the text but not fast
 * (tens of microseconds a name for `*a*a*a*b` over 60 characters), so a pattern over a large index would hold the
 * event loop for seconds. The index collects the candidate texts; worker threads test them in chunks; a request
 * not done within its time budget is answered 503 and its remaining chunks are never sent.
 */
import { Worker } from 'node:worker_threads';
import type { CounterChild, Logger, MetricsRegistry } from '@carillon/core';
import { QueryError } from './errors.js';
import { compileNodeGlob } from './glob.js';
import { compileAnchoredRegex } from './regex.js';
import { checkWorkerNice, renderWorkerPath } from './render-pool.js';

/** `glob`: one path node's glob; `anchored`: a regex anchored at the start (re.match). */
export type MatchKind = 'glob' | 'anchored';

/** Which of `texts` match: `result[i]` is 1 for a match. */
export type BatchMatch = (kind: MatchKind, pattern: string, texts: readonly string[]) => Promise<Uint8Array>;

/** Matching on the calling thread: for small sets, and where no pool is configured. */
export function matchHere(kind: MatchKind, pattern: string, texts: readonly string[]): Uint8Array {
  const test = kind === 'glob' ? compileNodeGlob(pattern) : compileAnchoredRegex(pattern, `pattern "${pattern}"`);
  const out = new Uint8Array(texts.length);
  for (let i = 0; i < texts.length; i++) out[i] = test.test(texts[i]!) ? 1 : 0;
  return out;
}

export type ToMatchWorker = { type: 'match'; chunk: number; kind: MatchKind; pattern: string; texts: string[] };
export type FromMatchWorker = { type: 'matched'; chunk: number; result?: Uint8Array; error?: string };

export interface MatchPoolOptions {
  workers: number;
  timeBudgetMs: number;
  /** Matches waiting for a worker; more are refused (503). */
  maxQueued: number;
  /** Texts per message to a worker. */
  chunkSize?: number;
  /** Sets this small are matched on the calling thread. */
  inlineBelow?: number;
  /** Nice value of the worker threads (render-pool.ts). */
  workerNice?: number;
}

interface Request {
  kind: MatchKind;
  pattern: string;
  texts: readonly string[];
  result: Uint8Array;
  next: number;
  outstanding: number;
  deadline: number;
  failed: boolean;
  resolve: (r: Uint8Array) => void;
  reject: (e: Error) => void;
}

interface Chunk {
  request: Request;
  offset: number;
}

export class MatchPool {
  private readonly workers: { worker: Worker; busy: Chunk | undefined }[] = [];
  private readonly waiting: Request[] = [];
  private readonly chunks = new Map<number, Chunk>();
  private nextChunk = 0;
  private closed = false;
  private readonly script = renderWorkerPath();
  private readonly chunkSize: number;
  private readonly inlineBelow: number;
  private readonly overBudget: CounterChild | undefined;
  private readonly queueFull: CounterChild | undefined;

  constructor(
    private readonly options: MatchPoolOptions,
    metrics?: MetricsRegistry,
    private readonly logger?: Logger,
  ) {
    checkWorkerNice(options.workerNice);
    this.chunkSize = options.chunkSize ?? 512;
    this.inlineBelow = options.inlineBelow ?? 16;
    this.overBudget = metrics
      ?.counter('query_match_refused_total', 'Glob or regex matches over the index answered 503: past the time budget')
      .labels();
    metrics?.gauge('query_match_queued', 'Glob or regex matches waiting for a worker', [], (g) =>
      g.labels().set(this.waiting.length),
    );
    for (let i = 0; i < options.workers; i++) this.workers.push({ worker: this.spawn(i), busy: undefined });
  }

  readonly match: BatchMatch = (kind, pattern, texts) => {
    if (texts.length < this.inlineBelow) return Promise.resolve(matchHere(kind, pattern, texts));
    // a pattern that does not compile answers its 400 here, at once
    if (kind === 'glob') compileNodeGlob(pattern);
    else compileAnchoredRegex(pattern, `pattern "${pattern}"`);
    if (this.closed) return Promise.reject(new QueryError('the server is stopping', 503));
    if (this.waiting.length >= this.options.maxQueued) {
      this.queueFull?.inc();
      return Promise.reject(
        new QueryError(
          `too many glob and regex matches at once: ${this.options.maxQueued} waiting (query.render_max_queued); retry later`,
          503,
        ),
      );
    }
    return new Promise((resolve, reject) => {
      this.waiting.push({
        kind,
        pattern,
        texts,
        result: new Uint8Array(texts.length),
        next: 0,
        outstanding: 0,
        deadline: Date.now() + this.options.timeBudgetMs,
        failed: false,
        resolve,
        reject,
      });
      this.dispatch();
    });
  };

  async close(): Promise<void> {
    this.closed = true;
    for (const r of this.waiting.splice(0)) r.reject(new QueryError('the server is stopping', 503));
    await Promise.all(this.workers.map((w) => w.worker.terminate()));
  }

  private spawn(index: number): Worker {
    const worker = new Worker(this.script, { name: `match-${index}`, workerData: { nice: this.options.workerNice } });
    worker.unref();
    worker.on('message', (message: FromMatchWorker) => this.onMessage(worker, message));
    worker.on('error', (error) => this.logger?.error({ err: error }, 'match worker failed'));
    worker.on('exit', () => {
      const slot = this.workers.find((w) => w.worker === worker);
      if (!slot || this.closed) return;
      if (slot.busy) this.fail(slot.busy.request, new QueryError('pattern matching failed', 503));
      slot.busy = undefined;
      slot.worker = this.spawn(index);
      this.dispatch();
    });
    return worker;
  }

  /** Hands the next chunk, in arrival order of requests, to each idle worker; requests past their budget fail. */
  private dispatch(): void {
    for (const slot of this.workers) {
      if (slot.busy) continue;
      let request: Request | undefined;
      while ((request = this.waiting[0]) && Date.now() > request.deadline) {
        this.waiting.shift();
        this.overBudget?.inc();
        this.fail(
          request,
          new QueryError(
            `matching "${request.pattern}" over ${request.texts.length} names took longer than its time budget of ${this.options.timeBudgetMs} ms (query.render_time_budget)`,
            503,
          ),
        );
      }
      if (!request) return;
      const offset = request.next;
      request.next = Math.min(request.texts.length, offset + this.chunkSize);
      if (request.next >= request.texts.length) this.waiting.shift();
      request.outstanding++;
      const chunk = this.nextChunk++;
      const entry = { request, offset };
      this.chunks.set(chunk, entry);
      slot.busy = entry;
      slot.worker.postMessage({
        type: 'match',
        chunk,
        kind: request.kind,
        pattern: request.pattern,
        texts: request.texts.slice(offset, request.next) as string[],
      } satisfies ToMatchWorker);
    }
  }

  private fail(request: Request, error: Error): void {
    if (request.failed) return;
    request.failed = true;
    const at = this.waiting.indexOf(request);
    if (at >= 0) this.waiting.splice(at, 1);
    request.reject(error);
  }

  private onMessage(worker: Worker, message: FromMatchWorker): void {
    const slot = this.workers.find((w) => w.worker === worker);
    if (slot) slot.busy = undefined;
    const entry = this.chunks.get(message.chunk);
    this.chunks.delete(message.chunk);
    if (entry) {
      const { request, offset } = entry;
      request.outstanding--;
      if (message.error !== undefined) this.fail(request, new QueryError(message.error));
      else if (!request.failed) {
        request.result.set(message.result!, offset);
        if (request.outstanding === 0 && request.next >= request.texts.length) request.resolve(request.result);
      }
    }
    this.dispatch();
  }
}
