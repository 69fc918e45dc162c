/**
 * The main thread's side of the ingest workers (`relay.workers` > 1, ingest-worker.ts): starts them (all at once
 * on fixed ports; with a port 0 the first binds first and the others the ports it got), sends each ring schedule
 * change, merges their metrics into the relay's registry (summed per label set, gauges included: every relay gauge
 * is a count) and stops them: each closes its listeners, flushes its links and waits (bounded) for durable acks.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import {
  builtWorkerScript,
  ReportingWorker,
  type ConfigInputs,
  type Logger,
  type MetricsRegistry,
  type MetricsSnapshot,
} from '@carillon/core';
import type { RingSchedule, RingVersion } from '@carillon/ring';
import type { LinkDepth } from '@carillon/transport';
import type { RelayConfig } from './config.js';
import type { RelayPorts } from './ingest.js';
import type { SpoolOptions } from './spool/index.js';

export interface WorkerStart {
  index: number;
  inputs: ConfigInputs;
  spool: SpoolOptions;
  versions: RingVersion[];
  ports?: RelayPorts;
}

export type ToWorker =
  { type: 'schedule'; versions: RingVersion[] } | { type: 'collect'; id: number } | { type: 'stop' };

type Listening = {
  type: 'listening';
  relayId: string;
  ports: RelayPorts;
  snapshot: MetricsSnapshot;
  depths: LinkDepth[];
};

export type ToMain =
  | Listening
  | { type: 'failed'; message: string }
  | { type: 'metrics'; snapshot: MetricsSnapshot; depths: LinkDepth[]; id?: number }
  | { type: 'stopped'; snapshot: MetricsSnapshot; depths: LinkDepth[] };

/** One worker's links, as /ring lists them. */
export interface WorkerDepths {
  relayId: string;
  destinations: LinkDepth[];
}

/**
 * The workers' links to each destination as one: counts summed, connected only when every worker's link is, and
 * each sequence the highest (sequences are per identity: each worker's own are in `WorkerDepths`).
 */
export function mergeDepths(workers: readonly WorkerDepths[]): LinkDepth[] {
  const merged = new Map<string, LinkDepth>();
  for (const { destinations } of workers)
    for (const d of destinations) {
      const key = `${d.destination}@${d.address}`;
      const into = merged.get(key);
      if (into === undefined) merged.set(key, { ...d });
      else {
        into.connected &&= d.connected;
        into.queuedBatches += d.queuedBatches;
        into.queuedBytes += d.queuedBytes;
        into.unsentBatches += d.unsentBatches;
        into.unackedBatches += d.unackedBatches;
        into.openBatchBytes += d.openBatchBytes;
        into.lastSequence = Math.max(into.lastSequence, d.lastSequence);
        into.processedSequence = Math.max(into.processedSequence, d.processedSequence);
        into.durableSequence = Math.max(into.durableSequence, d.durableSequence);
      }
    }
  return [...merged.values()];
}

/** How long a /metrics render waits for the workers' fresh counters before serving the last ones they sent. */
const COLLECT_TIMEOUT_MS = 1000;
/** Past the links' close timeout, how long a stopping worker may take before it is terminated. */
const STOP_GRACE_MS = 5000;

/** The ingest workers' script. */
export function ingestWorkerPath(): string {
  return builtWorkerScript(import.meta.url, 'ingest-worker');
}

const versionsOf = (schedule: RingSchedule): RingVersion[] =>
  schedule.versions.map((v) => ({ version: v.version, effectiveFrom: v.effectiveFrom, members: v.members }));

/**
 * Worker `index`'s spool: the first keeps `spool.dir` itself (so going from one thread to several keeps its
 * identity and what it spooled), the others `<dir>/w<index>`; `spool.max_bytes` is shared out evenly.
 */
export function workerSpool(spool: SpoolOptions, index: number, count: number): SpoolOptions {
  if (spool.dir === '') return spool;
  return {
    ...spool,
    dir: index === 0 ? spool.dir : join(spool.dir, `w${index}`),
    maxBytes: Math.max(spool.segmentBytes, Math.floor(spool.maxBytes / count)),
  };
}

/**
 * How many ingest threads the spool needs: one more than the highest `<dir>/w<i>` an earlier run left, so a run
 * with fewer threads (a lower `relay.workers`, fewer cores for 0) still replays every worker's spool under the
 * identity it was sent with. 1 without a spool or without worker spools.
 */
export function spooledWorkers(spool: SpoolOptions): number {
  if (spool.dir === '') return 1;
  let entries: string[];
  try {
    entries = readdirSync(spool.dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 1;
    throw error;
  }
  let count = 1;
  for (const name of entries) {
    const index = /^w([1-9][0-9]*)$/.exec(name)?.[1];
    if (index !== undefined) count = Math.max(count, Number(index) + 1);
  }
  return count;
}

/** One ingest worker: a ReportingWorker that also keeps the identity and link depths it reports. */
class IngestWorker {
  relayId = '';
  depths: LinkDepth[] = [];
  readonly thread: ReportingWorker<Listening, ToWorker>;

  constructor(
    readonly index: number,
    worker: Worker,
    metrics: MetricsRegistry,
    logger: Logger,
  ) {
    this.thread = new ReportingWorker(`ingest worker ${index}`, worker, metrics, `w${index}`, logger, (message) => {
      const report = message as ToMain;
      if ('depths' in report) this.depths = report.depths;
      if (report.type === 'listening') this.relayId = report.relayId;
    });
  }

  get exited(): boolean {
    return this.thread.exited;
  }

  /** Resolves with the bound ports once it listens; rejects if it fails to start. */
  async started(): Promise<RelayPorts> {
    return (await this.thread.started()).ports;
  }

  send(message: ToWorker): void {
    this.thread.send(message);
  }

  collect(id: number, timeoutMs: number): Promise<void> {
    return this.thread.collect(id, timeoutMs);
  }

  stop(timeoutMs: number): Promise<void> {
    return this.thread.stop(timeoutMs);
  }
}

export class IngestWorkers {
  private collectId = 0;

  private constructor(
    private readonly workers: IngestWorker[],
    readonly ports: RelayPorts,
    private readonly closeTimeoutMs: number,
    private readonly logger: Logger,
  ) {}

  /** Starts `config.workers` workers on `schedule`; resolves once every one listens. */
  static async start(
    config: RelayConfig,
    schedule: RingSchedule,
    metrics: MetricsRegistry,
    logger: Logger,
  ): Promise<IngestWorkers> {
    const script = ingestWorkerPath();
    const count = config.workers;
    const workers: IngestWorker[] = [];
    const spawn = (index: number, ports?: RelayPorts): Promise<RelayPorts> => {
      const workerData: WorkerStart = {
        index,
        inputs: config.inputs,
        spool: workerSpool(config.spool, index, count),
        versions: versionsOf(schedule),
        ...(ports ? { ports } : {}),
      };
      const worker = new IngestWorker(
        index,
        new Worker(script, { name: `ingest-${index}`, workerData }),
        metrics,
        logger,
      );
      workers.push(worker);
      return worker.started();
    };
    const pool = new IngestWorkers(workers, {}, config.link.closeTimeoutMs, logger);
    const { graphite, statsd, pickle } = config;
    const listens = [graphite.tcp, graphite.udp, statsd.tcp, statsd.udp, pickle.tcp];
    try {
      if (listens.some((address) => address?.port === 0)) {
        // The others bind the ports the first got for a 0.
        const ports = await spawn(0);
        await Promise.all(Array.from({ length: count - 1 }, (_, i) => spawn(i + 1, ports)));
        Object.assign(pool.ports, ports);
      } else {
        // Fixed ports: every worker loads, replays its spool and binds at once (a restart is not the sum of them).
        const all = await Promise.all(Array.from({ length: count }, (_, i) => spawn(i)));
        Object.assign(pool.ports, all[0]);
      }
    } catch (error) {
      await pool.stop();
      throw error;
    }
    return pool;
  }

  get relayIds(): string[] {
    return this.workers.map((w) => w.relayId);
  }

  /** Why the relay is not ready: a worker that exited (its share of the ports is gone with it). */
  notReady(): string | undefined {
    const gone = this.workers.filter((w) => w.exited).map((w) => w.index);
    return gone.length === 0 ? undefined : `ingest workers ${gone.join(', ')} exited`;
  }

  update(schedule: RingSchedule): void {
    const versions = versionsOf(schedule);
    for (const worker of this.workers) worker.send({ type: 'schedule', versions });
  }

  /** Brings the merged metrics up to date (bounded wait). */
  async collect(): Promise<void> {
    const id = ++this.collectId;
    await Promise.all(this.workers.map((w) => w.collect(id, COLLECT_TIMEOUT_MS)));
  }

  /** Each worker's link queues, as last reported. */
  workerDepths(): WorkerDepths[] {
    return this.workers.map((w) => ({ relayId: w.relayId, destinations: w.depths }));
  }

  /** The link queues per destination over every worker (`mergeDepths`). */
  depths(): LinkDepth[] {
    return mergeDepths(this.workerDepths());
  }

  async stop(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.stop(this.closeTimeoutMs + STOP_GRACE_MS)));
    this.logger.info({ workers: this.workers.length }, 'ingest workers stopped');
  }
}
