/**
 * The whisper write thread: one WhisperStore with synchronous file calls, writing every batch the ingest thread
 * hands over, in the order handed (its write-back queue coalesces them as on the ingest thread). Its counters go
 * back with every answer and on a timer, to be merged into the node's /metrics.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createLogger, MetricsRegistry, type FlushBatch } from '@carillon/core';
import { WhisperStore } from './store.js';
import type { FromWriteThread, ToWriteThread, WriteThreadSetup } from './write-thread-messages.js';

const setup = workerData as WriteThreadSetup;
const port = parentPort!; // started by WhisperWriteThread, always as a worker
const metrics = new MetricsRegistry();
const store = new WhisperStore(setup.config, {
  metrics,
  logger: createLogger('whisper-writer', setup.logLevel),
  syncFiles: true,
});
const send = (message: FromWriteThread): void => port.postMessage(message);
const timer = setInterval(() => send({ type: 'metrics', metrics: metrics.snapshot() }), setup.metricsIntervalMs);

/**
 * Batches that arrived since the last hand-over. They go to the store together, after the messages waiting have
 * been read: each message is a turn of its own, and a round started by the first would leave the rest for the
 * next round, one file update per batch, where the store behind should update each file once for all of them.
 * (The batches of one turn of the ingest thread come in one message.)
 */
let arrived: { seq: number; batch: FlushBatch }[] = [];

function handOver(): void {
  const writes = arrived;
  arrived = [];
  for (const { seq, batch } of writes)
    void store.write(batch).then((outcome) => send({ type: 'done', seq, outcome, metrics: metrics.snapshot() }));
}

port.on('message', (message: ToWriteThread) => {
  if (message.type === 'write') {
    if (arrived.length === 0) setImmediate(handOver);
    arrived.push(...message.writes);
    return;
  }
  handOver();
  clearInterval(timer);
  void store.close().then(() => {
    send({ type: 'closed', metrics: metrics.snapshot() });
    port.close();
  });
});
