/**
 * An ingest worker thread (`relay.workers` > 1): reads the relay's config again, runs one RelayIngest under its
 * own identity on the shared listener ports (SO_REUSEPORT), follows the ring schedule the main thread sends, and
 * reports its metrics and link depths to the main thread, which serves them merged.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { ConfigSource, createLogger, MetricsRegistry } from '@carillon/core';
import { RingSchedule } from '@carillon/ring';
import { channelCredentials } from '@carillon/transport';
import { readRelayConfig } from './config.js';
import { linkOptionsOf, RelayIngest } from './ingest.js';
import type { ToMain, ToWorker, WorkerStart } from './ingest-workers.js';

if (!parentPort) throw new Error('ingest-worker.js runs only as a worker thread');
const port = parentPort;
const start = workerData as WorkerStart;
const send = (message: ToMain): void => port.postMessage(message);

/** How often a worker sends its metrics unasked: what `relay.metrics` reads in-process is at most this old. */
const METRICS_PUSH_MS = 200;

async function main(): Promise<void> {
  const config = readRelayConfig(ConfigSource.fromInputs(start.inputs));
  const logger = createLogger(`carillon-relay-w${start.index}`, config.logLevel);
  const metrics = new MetricsRegistry();
  const tls = channelCredentials(config.cluster, metrics, logger);
  const options = { replicas: config.ring.replicas };
  let schedule = new RingSchedule(start.versions, options);
  const ingest = RelayIngest.open(
    config,
    start.spool,
    linkOptionsOf(config, tls.credentials),
    () => schedule,
    metrics,
    logger,
  );
  const report = (): {
    snapshot: ReturnType<MetricsRegistry['snapshot']>;
    depths: ReturnType<RelayIngest['depths']>;
  } => ({
    snapshot: metrics.snapshot(),
    depths: ingest.depths(),
  });
  const push = setInterval(() => send({ type: 'metrics', ...report() }), METRICS_PUSH_MS);
  let stopping = false;
  port.on('message', (message: ToWorker) => {
    if (message.type === 'schedule') {
      schedule = new RingSchedule(message.versions, options, schedule);
      ingest.update(schedule);
    } else if (message.type === 'collect') {
      send({ type: 'metrics', ...report(), id: message.id });
    } else if (message.type === 'stop' && !stopping) {
      stopping = true;
      clearInterval(push);
      void ingest.stop().then(() => {
        tls.close();
        send({ type: 'stopped', ...report() });
        port.close();
      });
    }
  });
  const ports = await ingest.listen(true, start.ports);
  send({ type: 'listening', relayId: ingest.relayId, ports, ...report() });
}

main().catch((error: unknown) =>
  send({ type: 'failed', message: error instanceof Error ? error.message : String(error) }),
);
