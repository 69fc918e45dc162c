/**
 * Render workers: renders are evaluated in worker_threads, off the thread that ingests, so a render's functions,
 * consolidation and encoding never stall ingest or /healthz. Each worker runs one render at a time. Names and the
 * windows not stored yet are found here (where the index and aggregator live); with a worker reader of the store
 * (whisper) the worker reads the values itself, else they are read here and transferred as Float64Arrays. Every
 * render has a time budget (from its arrival: queue wait included; past it the worker is terminated and
 * replaced) and a memory budget (the worker's heap limit); renders beyond the workers wait in a bounded queue.
 * Each refusal is a 503 with the reason, counted.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import {
  builtWorkerScript,
  type CounterChild,
  type Logger,
  type MetricsRegistry,
  type WorkerReaderSpec,
} from '@carillon/core';
import { QueryError } from './errors.js';
import type { RenderJob } from './render-job.js';
import type { AnswerShape, RenderBody } from './render-output.js';
import { joinedJson, joinedShape, splitRender } from './render-split.js';
import type { FetchWindow, PendingSlots } from './series-fetch.js';
import type { TargetExpression } from './target-expression.js';
import type { LoadedSeries, LoadRequest, RenderLimits, ResolvedRead, SeriesLoader } from './series-loader.js';

type Failure = { message: string; status: number };

/** One read of a batch resolved, or what it failed with (the batch stops there: the render fails at it). */
export type ResolvedOutcome = { read: ResolvedRead } | { error: Failure };

export type ToWorker =
  | { type: 'render'; id: number; job: RenderJob }
  | { type: 'read'; id: number; names: string[]; window: FetchWindow; pending: Map<string, PendingSlots> }
  | { type: 'loaded'; id: number; loadId: number; series?: LoadedSeries[]; error?: Failure }
  | { type: 'resolved'; id: number; loadId: number; read?: ResolvedRead; error?: Failure }
  | { type: 'resolved-many'; id: number; loadId: number; reads: ResolvedOutcome[] }
  | { type: 'encode'; id: number; shape: AnswerShape }
  | { type: 'cancel'; id: number; reason: string };

/** `readErrors`: the worker reader's failed reads since the worker's last answer (read as empty). */
export type FromWorker =
  | { type: 'load'; id: number; loadId: number; request: LoadRequest }
  | { type: 'resolve'; id: number; loadId: number; request: LoadRequest }
  | { type: 'resolve-many'; id: number; loadId: number; requests: LoadRequest[] }
  | { type: 'evaluated'; id: number; shape: AnswerShape }
  | { type: 'done'; id: number; contentType: string; text: boolean; body: Uint8Array; readErrors: number }
  | { type: 'read-done'; id: number; values: Float64Array[]; readErrors: number }
  | { type: 'failed'; id: number; message: string; status: number; readErrors: number };

/** What a worker reads the store with, given at its start (workerData). */
export interface WorkerReads {
  reader: WorkerReaderSpec;
  limits: RenderLimits;
}

export interface RenderPoolOptions {
  /** Worker threads; each runs one render at a time. */
  workers: number;
  /** From a render's arrival to its answer, queue wait included. */
  timeBudgetMs: number;
  /** Heap of one worker, so of one render (V8's old generation limit). */
  memoryBudgetBytes: number;
  /** Renders waiting for a worker; more are refused. */
  maxQueued: number;
  /** Nice value of the worker threads (0–19; Linux), so the ingest thread is scheduled first. Default 0. */
  workerNice?: number;
}

/** Checks a worker nice value (query.worker_nice). */
export function checkWorkerNice(nice: number | undefined): void {
  if (nice !== undefined && (!Number.isInteger(nice) || nice < 0 || nice > 19))
    throw new Error('worker nice value must be an integer from 0 to 19');
}

/** How long a worker may take to give up a render answered 503 for its time budget before it is stopped. */
const KILL_GRACE_MS = 1_000;

export const REFUSAL_REASONS = ['queue_full', 'time_budget', 'memory_budget', 'worker_failed'] as const;
type RefusalReason = (typeof REFUSAL_REASONS)[number];

/** A render, or a read of many series (a cluster Fetch) made by the worker's own reader. */
interface Task {
  id: number;
  message: Extract<ToWorker, { type: 'render' | 'read' }>;
  /** A render's reads; none for a read task. */
  loader?: SeriesLoader;
  /**
   * Runs a read in the async context of the request that queued the render: a worker's messages arrive in the
   * context the worker was spawned in, and a reader may keep per-request state there (the relay's ClusterRead
   * names the accumulators missing from this answer).
   */
  inRequest: <R>(read: () => R) => R;
  resolve: (answer: RenderBody | Float64Array[]) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
  slot?: Slot;
  /** Answered already (time budget): the worker is only waited for, then given the next render. */
  abandoned?: boolean;
  /** A part of a split render, evaluated: its answer's shape. */
  onEvaluated?: (shape: AnswerShape) => void;
}

interface Slot {
  worker: Worker;
  task?: Task;
}

/** The render (and match) workers' script. */
export function renderWorkerPath(): string {
  return builtWorkerScript(import.meta.url, 'render-worker');
}

export class RenderPool {
  private readonly slots: Slot[] = [];
  private readonly queue: Task[] = [];
  private readonly script = renderWorkerPath();
  private nextId = 0;
  private closed = false;
  private readonly refused: Record<RefusalReason, CounterChild | undefined>;
  private readonly restarts: CounterChild | undefined;
  private readonly readErrors: CounterChild | undefined;
  private readonly splits: Record<'targets' | 'series', CounterChild | undefined>;

  /** With `reads`, workers read the store themselves; without, every read is made here. */
  constructor(
    private readonly options: RenderPoolOptions,
    metrics?: MetricsRegistry,
    private readonly logger?: Logger,
    private readonly reads?: WorkerReads,
  ) {
    for (const [key, value] of Object.entries(options))
      if (key !== 'workerNice' && (!Number.isInteger(value) || value < 1))
        throw new Error(`render pool ${key} must be a positive integer`);
    checkWorkerNice(options.workerNice);
    const readerModule = reads && fileURLToPath(reads.reader.module);
    if (readerModule && !existsSync(readerModule))
      throw new Error(
        `render worker reader ${readerModule} is missing: build first with \`npx tsc -b tsconfig.build.json\``,
      );
    const refusedFamily = metrics?.counter(
      'query_render_refused_total',
      'Renders (each part of a split render) answered 503: no room in the queue, past the time or memory budget, or a worker that failed',
      ['reason'],
    );
    this.refused = Object.fromEntries(REFUSAL_REASONS.map((r) => [r, refusedFamily?.labels(r)])) as Record<
      RefusalReason,
      CounterChild | undefined
    >;
    this.restarts = metrics
      ?.counter('query_render_worker_restarts_total', 'Render workers replaced (time budget, memory budget, crash)')
      .labels();
    this.readErrors = metrics
      ?.counter('query_render_read_errors_total', 'Store reads a render worker made that failed (read as empty)')
      .labels();
    const splitFamily = metrics?.counter(
      'query_render_split_total',
      "Renders evaluated in parts over idle workers, by what was split: runs of targets, or of one read's series",
      ['by'],
    );
    this.splits = { targets: splitFamily?.labels('targets'), series: splitFamily?.labels('series') };
    metrics?.gauge('query_render_running', 'Renders being evaluated in a worker', [], (g) =>
      g.labels().set(this.slots.filter((s) => s.task).length),
    );
    metrics?.gauge('query_render_queued', 'Renders waiting for a worker', [], (g) => g.labels().set(this.queue.length));
    for (let i = 0; i < options.workers; i++) this.slots.push({ worker: this.spawn(i) });
  }

  /**
   * Evaluates a render in a worker, or a JSON render in parts over the idle workers when no render waits
   * (render-split.ts); `targets`, the job's parsed. Its reads go through a loader of `newLoader`. Rejects with a
   * QueryError on refusal.
   */
  run(job: RenderJob, targets: readonly TargetExpression[], newLoader: () => SeriesLoader): Promise<RenderBody> {
    const idle = this.queue.length === 0 ? this.slots.filter((s) => !s.task).length : 0;
    const parts = splitRender(job, targets, idle, this.readsInWorkers);
    if (parts) {
      this.splits[parts[0]!.part!.by]?.inc();
      return this.runParts(job, parts, newLoader);
    }
    return this.enqueue({ type: 'render', id: this.nextId++, job }, newLoader()) as Promise<RenderBody>;
  }

  /**
   * The parts of a split render, each in a worker, told the whole answer's shape once all are evaluated. At the
   * first part that fails the others are cancelled. A client error (400) is then made again by one worker over the
   * whole render, in what is left of its time budget: which error answers first, and where the series budget runs
   * out, depend on the order the targets are evaluated and charged in, which parts running side by side do not keep.
   */
  private async runParts(job: RenderJob, parts: RenderJob[], newLoader: () => SeriesLoader): Promise<RenderBody> {
    const arrived = Date.now();
    const loader = newLoader();
    const tasks: Task[] = [];
    const shapes: (AnswerShape | undefined)[] = parts.map(() => undefined);
    let failure: { error: unknown } | undefined;
    const answers = parts.map((part, i) =>
      (
        this.enqueue({ type: 'render', id: this.nextId++, job: part }, loader, (task) => {
          tasks[i] = task;
          task.onEvaluated = (shape) => {
            shapes[i] = shape;
            if (failure || !shapes.every((s) => s !== undefined)) return;
            const whole = joinedShape(shapes as AnswerShape[]);
            for (const t of tasks)
              t.slot?.worker.postMessage({ type: 'encode', id: t.id, shape: whole } satisfies ToWorker);
          };
        }) as Promise<RenderBody>
      ).catch((error: unknown) => {
        if (failure) return;
        failure = { error };
        for (const [j, task] of tasks.entries()) if (j !== i) this.cancel(task, 'another part of the render failed');
      }),
    );
    const outcomes = await Promise.all(answers);
    if (failure) {
      const { error } = failure;
      if (!(error instanceof QueryError) || error.status !== 400) throw error;
      const left = Math.max(1, this.options.timeBudgetMs - (Date.now() - arrived));
      return this.enqueue(
        { type: 'render', id: this.nextId++, job },
        newLoader(),
        undefined,
        left,
      ) as Promise<RenderBody>;
    }
    // a worker's answer is bytes (the pool's `done`), a JSON list for a part
    return joinedJson(
      outcomes.map((answer) => answer!.body as Buffer),
      job.jsonp,
    );
  }

  /** Stops a task that is no longer wanted: out of the queue, or its worker told (it answers failed). */
  private cancel(task: Task, reason: string): void {
    const queued = this.queue.indexOf(task);
    if (queued >= 0) {
      this.queue.splice(queued, 1);
      this.finish(task, new QueryError(reason, 503));
    } else task.slot?.worker.postMessage({ type: 'cancel', id: task.id, reason } satisfies ToWorker);
  }

  /** Whether workers read the store themselves (so `read` may be used). */
  get readsInWorkers(): boolean {
    return this.reads !== undefined;
  }

  /**
   * The values of `names` over `window` (NaN for none), read by a worker with its own reader and `pending` (taken
   * before, by name) filling the empty slots; under the render budgets (time, queue, bytes).
   */
  read(names: string[], window: FetchWindow, pending: Map<string, PendingSlots>): Promise<Float64Array[]> {
    if (!this.reads) return Promise.reject(new Error('render workers have no reader of the store'));
    const bytes = names.length * window.count * 8;
    if (bytes > this.reads.limits.maxBytes)
      return Promise.reject(
        new QueryError(
          `fetch reads ${bytes} bytes of values, more than ${this.reads.limits.maxBytes} (query.render_max_bytes); fetch fewer series at once`,
        ),
      );
    const id = this.nextId++;
    return this.enqueue({ type: 'read', id, names, window, pending }, undefined) as Promise<Float64Array[]>;
  }

  private enqueue(
    message: Task['message'],
    loader: SeriesLoader | undefined,
    made?: (task: Task) => void,
    budgetMs = this.options.timeBudgetMs,
  ): Promise<RenderBody | Float64Array[]> {
    if (this.closed) return Promise.reject(new QueryError('the server is stopping', 503));
    return new Promise((resolve, reject) => {
      const free = this.slots.find((s) => !s.task);
      if (!free && this.queue.length >= this.options.maxQueued) {
        this.refused.queue_full?.inc();
        reject(
          new QueryError(
            `too many renders at once: ${this.options.workers} running and ${this.options.maxQueued} waiting (query.render_workers, query.render_max_queued); retry later`,
            503,
          ),
        );
        return;
      }
      const task: Task = {
        id: message.id,
        message,
        loader,
        inRequest: AsyncLocalStorage.snapshot(),
        resolve,
        reject,
        timer: setTimeout(() => this.overBudget(task), budgetMs),
      };
      made?.(task);
      if (free) this.start(free, task);
      else this.queue.push(task);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const task of this.queue.splice(0)) this.finish(task, new QueryError('the server is stopping', 503));
    await Promise.all(
      this.slots.map(async (slot) => {
        if (slot.task) this.finish(slot.task, new QueryError('the server is stopping', 503));
        await slot.worker.terminate();
      }),
    );
  }

  private spawn(index: number): Worker {
    const worker = new Worker(this.script, {
      name: `render-${index}`,
      workerData: { reads: this.reads, nice: this.options.workerNice },
      resourceLimits: { maxOldGenerationSizeMb: Math.max(16, Math.floor(this.options.memoryBudgetBytes / 2 ** 20)) },
    });
    worker.unref();
    worker.on('message', (message: FromWorker) => this.onMessage(worker, message));
    let failure: Error | undefined;
    worker.on('error', (error) => {
      failure = error;
    });
    worker.on('exit', () => {
      const slot = this.slots.find((s) => s.worker === worker);
      if (!slot || this.closed) return;
      const task = slot.task;
      const outOfMemory = (failure as { code?: string } | undefined)?.code === 'ERR_WORKER_OUT_OF_MEMORY';
      if (task && !task.abandoned) {
        this.refused[outOfMemory ? 'memory_budget' : 'worker_failed']?.inc();
        task.loader?.cancel('the render was stopped');
        this.finish(
          task,
          outOfMemory
            ? new QueryError(
                `render needs more memory than its budget of ${this.options.memoryBudgetBytes} bytes (query.render_memory_budget); shorten the time range, narrow the targets or give maxDataPoints`,
                503,
              )
            : new QueryError('render worker failed', 503),
        );
      }
      if (!outOfMemory) this.logger?.error({ err: failure }, 'render worker exited');
      this.replace(slot);
    });
    return worker;
  }

  private replace(slot: Slot): void {
    this.restarts?.inc();
    slot.task = undefined;
    slot.worker = this.spawn(this.slots.indexOf(slot));
    this.next(slot);
  }

  private start(slot: Slot, task: Task): void {
    slot.task = task;
    task.slot = slot;
    slot.worker.postMessage(task.message satisfies ToWorker);
  }

  private next(slot: Slot): void {
    const task = this.queue.shift();
    if (task) this.start(slot, task);
  }

  private finish(task: Task, outcome: RenderBody | Float64Array[] | Error): void {
    clearTimeout(task.timer);
    if (task.slot?.task === task) task.slot.task = undefined;
    if (task.abandoned) return;
    if (outcome instanceof Error) task.reject(outcome);
    else task.resolve(outcome);
  }

  private overBudget(task: Task): void {
    this.refused.time_budget?.inc();
    task.loader?.cancel('the render ran out of time');
    const slot = task.slot;
    // a worker reading the store itself stops at its next chunk of reads
    slot?.worker.postMessage({ type: 'cancel', id: task.id, reason: 'the render ran out of time' } satisfies ToWorker);
    const queued = this.queue.indexOf(task);
    if (queued >= 0) this.queue.splice(queued, 1);
    this.finish(
      task,
      new QueryError(
        `render took longer than its time budget of ${this.options.timeBudgetMs} ms (query.render_time_budget); shorten the time range or narrow the targets`,
        503,
      ),
    );
    if (!slot || this.closed) return;
    // Most renders past their budget wait for reads, which now fail at once, so the worker frees itself; one
    // still busy after the grace is deep in a function and is stopped (a new worker costs the ingest thread ms).
    slot.task = task;
    task.abandoned = true;
    task.timer = setTimeout(() => {
      if (slot.task !== task || this.closed) return;
      const old = slot.worker;
      this.replace(slot);
      void old.terminate();
    }, KILL_GRACE_MS);
  }

  private onMessage(worker: Worker, message: FromWorker): void {
    const slot = this.slots.find((s) => s.worker === worker);
    const task = slot?.task;
    if (!slot || !task || task.id !== message.id) return;
    const loader = task.loader;
    if (message.type === 'evaluated') {
      task.onEvaluated?.(message.shape);
      return;
    }
    if (message.type === 'resolve' && loader) {
      task
        .inRequest(() => loader.resolve(message.request, true))
        .then(
          (read) => {
            if (slot.task === task)
              worker.postMessage({ type: 'resolved', id: task.id, loadId: message.loadId, read } satisfies ToWorker);
          },
          (error: unknown) => {
            if (slot.task === task)
              worker.postMessage({
                type: 'resolved',
                id: task.id,
                loadId: message.loadId,
                error: this.failure(error),
              } satisfies ToWorker);
          },
        );
      return;
    }
    if (message.type === 'resolve-many' && loader) {
      task
        .inRequest(async () => {
          const reads: ResolvedOutcome[] = [];
          for (const request of message.requests) {
            try {
              reads.push({ read: await loader.resolve(request, true) });
            } catch (error) {
              reads.push({ error: this.failure(error) });
              break;
            }
          }
          return reads;
        })
        .then((reads) => {
          if (slot.task === task)
            worker.postMessage({
              type: 'resolved-many',
              id: task.id,
              loadId: message.loadId,
              reads,
            } satisfies ToWorker);
        });
      return;
    }
    if (message.type === 'load' && loader) {
      task
        .inRequest(() => loader.load(message.request))
        .then(
          (series) => {
            if (slot.task !== task) return;
            worker.postMessage(
              { type: 'loaded', id: task.id, loadId: message.loadId, series } satisfies ToWorker,
              series.map((s) => s.values.buffer as ArrayBuffer),
            );
          },
          (error: unknown) => {
            if (slot.task !== task) return;
            worker.postMessage({
              type: 'loaded',
              id: task.id,
              loadId: message.loadId,
              error: this.failure(error),
            } satisfies ToWorker);
          },
        );
      return;
    }
    if (message.type === 'resolve' || message.type === 'resolve-many' || message.type === 'load') return;
    if (message.readErrors > 0) this.readErrors?.inc(message.readErrors);
    if (message.type === 'read-done') {
      this.finish(task, message.values);
    } else if (message.type === 'done') {
      const bytes = Buffer.from(message.body.buffer, message.body.byteOffset, message.body.byteLength);
      const contentType = message.text ? `${message.contentType}; charset=utf-8` : message.contentType;
      this.finish(task, { contentType, body: bytes });
    } else {
      if (message.status === 500) this.logger?.error({ message: message.message }, 'render failed in a worker');
      this.finish(task, new QueryError(message.status === 500 ? 'internal error' : message.message, message.status));
    }
    this.next(slot);
  }

  /** A read's error as the worker rethrows it: a QueryError's status and text, else a 500 logged here. */
  private failure(error: unknown): Failure {
    if (error instanceof QueryError) return { message: error.message, status: error.status };
    this.logger?.error({ err: error }, 'render read failed');
    return { message: 'store read failed', status: 500 };
  }
}
