/**
 * A write pool worker: owns its writers (and their clients) for the life of the pool. Each writer has its own
 * lane — a queue in arrival order, written one shard after another, bounded in points: past the bound a shard is
 * refused for that writer alone (counted, and handed back for a retry), so a stuck writer never holds up another.
 * Each lane acks each shard when written or refused, with the series it could not store; stats go to the main
 * thread periodically.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { FromWorker, LaneStats, ToWorker, WorkerSetup } from './messages.js';
import type { ShardBatch, ShardWriter } from './shard-writer.js';
import { createShardWriter } from './worker-writers.js';

interface Queued {
  seq: number;
  batch: ShardBatch;
}

class Lane {
  private readonly queue: Queued[] = [];
  private running = false;
  private idleWaiters: (() => void)[] = [];
  queuedPoints = 0;
  shardsDropped = 0;
  pointsDropped = 0;

  constructor(
    readonly index: number,
    readonly writer: ShardWriter,
    private readonly maxQueuePoints: number,
    private readonly ack: (seq: number, lane: number, failed?: readonly number[]) => void,
  ) {}

  push(seq: number, batch: ShardBatch): void {
    const points = batch.names.length;
    if (this.queuedPoints + points > this.maxQueuePoints) {
      this.shardsDropped++;
      this.pointsDropped += points;
      // Refused whole: every series goes back to the writer sink, which writes it again later.
      this.ack(
        seq,
        this.index,
        batch.names.map((_, i) => i),
      );
      return;
    }
    this.queuedPoints += points;
    this.queue.push({ seq, batch });
    if (!this.running) void this.run();
  }

  private async run(): Promise<void> {
    this.running = true;
    for (let item = this.queue.shift(); item; item = this.queue.shift()) {
      let failed: readonly number[] | void;
      try {
        failed = await this.writer.write(item.batch);
      } catch (error) {
        // A writer counts its own row failures; anything thrown here is a bug worth seeing, not a reason to stop.
        console.error(`write pool: writer ${this.writer.name} threw`, error);
        failed = item.batch.names.map((_, i) => i);
      }
      this.queuedPoints -= item.batch.names.length;
      this.ack(item.seq, this.index, failed && failed.length > 0 ? failed : undefined);
    }
    this.running = false;
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  idle(): Promise<void> {
    return this.running ? new Promise((resolve) => this.idleWaiters.push(resolve)) : Promise.resolve();
  }

  stats(): LaneStats {
    return {
      writer: { ...this.writer.stats() },
      shardsDropped: this.shardsDropped,
      pointsDropped: this.pointsDropped,
      queuedPoints: this.queuedPoints,
    };
  }
}

const port = parentPort;
if (!port) throw new Error('worker-main.js runs as a write pool worker thread only');
const setup = workerData as WorkerSetup;
const post = (message: FromWorker): void => port.postMessage(message);
const lanes = setup.writers.map(
  (spec, i) =>
    new Lane(i, createShardWriter(spec), setup.maxWriterQueuePoints, (seq, lane, failed) =>
      post(failed ? { type: 'done', seq, lane, failed } : { type: 'done', seq, lane }),
    ),
);
const laneStats = (): Record<string, LaneStats> =>
  Object.fromEntries(lanes.map((lane) => [lane.writer.name, lane.stats()]));
const statsTimer = setInterval(() => post({ type: 'stats', lanes: laneStats() }), setup.statsIntervalMs);

port.on('message', (message: ToWorker) => {
  if (message.type === 'write') {
    const batch: ShardBatch = {
      resolution: message.resolution,
      time: message.time,
      names: message.names,
      ids: message.ids,
      stats: message.stats,
    };
    if (message.times !== undefined) batch.times = message.times;
    if (message.amend === true) batch.amend = true;
    for (const lane of lanes) lane.push(message.seq, batch);
  } else {
    void (async () => {
      clearInterval(statsTimer);
      await Promise.all(lanes.map((lane) => lane.idle()));
      await Promise.all(lanes.map((lane) => lane.writer.close().catch(() => undefined)));
      post({ type: 'closed', lanes: laneStats() });
      port.close();
    })();
  }
});
