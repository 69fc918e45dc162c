/**
 * A listener thread of the single node (`listeners.threads`, listener-threads.ts): reads the config again, binds
 * every listener port beside the other threads (SO_REUSEPORT), frames the lines and applies carbon's name rules,
 * gathers each turn's lines of a format into one batch, reads its Graphite lines ahead (graphite-rows.ts) and
 * transfers both to the main thread, which logs and aggregates them. Past `listeners.max_queued_bytes` handed
 * over and not yet taken, its listeners are held (read-gate.ts) until half of that is taken.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { ConfigSource, createLogger, MetricsRegistry } from '@carillon/core';
import { LineCounters, ReadGate, startIngestListeners, type Listener } from '@carillon/protocols';
import { readGraphiteRows } from './graphite-rows.js';
import { LineStaging } from './line-staging.js';
import type { LineFormat } from './line-ingest.js';
import type { ListenerThreadStart, ToListenerThread, FromListenerThread } from './listener-threads.js';
import { readAllInOneConfig } from './single-node-config.js';

if (!parentPort) throw new Error('listener-thread.js runs only as a worker thread');
const port = parentPort;
const start = workerData as ListenerThreadStart;
const send = (message: FromListenerThread, transfer: ArrayBuffer[] = []): void => port.postMessage(message, transfer);

/** How often a thread sends its counters unasked. */
const METRICS_PUSH_MS = 200;
/** A new buffer for lines holds at least this: a socket read (64 KiB) and a line carried over from the last. */
const SPARE_BYTES = 128 << 10;
/** Spare buffers kept of each kind; the rest are left to the collector. */
const MAX_SPARES = 32;

async function main(): Promise<void> {
  const config = readAllInOneConfig(ConfigSource.fromInputs(start.inputs));
  const logger = createLogger(`carillon-listener-${start.index}`, config.node.logLevel);
  const registry = new MetricsRegistry();
  const holds = registry
    .counter('listener_thread_holds_total', "Times a listener thread held its listeners: the main thread's backlog")
    .labels();
  const gate = new ReadGate();
  const { maxQueuedBytes } = config.listeners;
  let queuedBytes = 0;
  const staged: Record<LineFormat, LineStaging> = { graphite: new LineStaging(), statsd: new LineStaging() };
  let handOverQueued = false;

  // Buffers the main thread gave back, used again: in a steady flow a batch allocates nothing.
  const spares = { lines: [] as ArrayBuffer[], rows: [] as ArrayBuffer[] };
  const spareLines = (size: number): ArrayBuffer => {
    const spare = spares.lines.pop();
    return spare !== undefined && spare.byteLength >= size ? spare : new ArrayBuffer(Math.max(size, SPARE_BYTES));
  };
  const spareRows = (): Float64Array<ArrayBuffer> | undefined => {
    const spare = spares.rows.pop();
    return spare === undefined ? undefined : new Float64Array(spare);
  };

  /** This turn's lines, copied out of the listeners' buffers into buffers the main thread takes over. */
  const handOver = (): void => {
    handOverQueued = false;
    for (const format of ['graphite', 'statsd'] as const) {
      if (staged[format].empty) continue;
      const view = staged[format].take();
      const owned = spareLines(view.length);
      const lines = Buffer.from(owned, 0, view.length);
      view.copy(lines);
      const rows = format === 'graphite' ? readGraphiteRows(lines, spareRows()) : undefined;
      queuedBytes += lines.length + (rows?.byteLength ?? 0);
      send({ type: 'lines', format, lines, rows }, rows ? [owned, rows.buffer] : [owned]);
    }
    if (queuedBytes > maxQueuedBytes && !gate.isShut) {
      holds.value++;
      gate.close();
    }
  };
  const stage =
    (format: LineFormat) =>
    (buf: Buffer, lineStart: number, lineEnd: number): undefined => {
      staged[format].add(buf, lineStart, lineEnd);
      if (!handOverQueued) {
        handOverQueued = true;
        queueMicrotask(handOver);
      }
    };
  const handlers = {
    graphiteCounters: new LineCounters(registry, 'graphite'),
    graphiteLine: stage('graphite'),
    statsdCounters: new LineCounters(registry, 'statsd'),
    statsdLine: stage('statsd'),
  };
  let listeners: Listener[] = [];
  const push = setInterval(() => send({ type: 'metrics', snapshot: registry.snapshot() }), METRICS_PUSH_MS);
  let stopping = false;
  port.on('message', (message: ToListenerThread) => {
    if (message.type === 'taken') {
      queuedBytes -= message.bytes;
      for (const kind of ['lines', 'rows'] as const)
        for (const spare of message.spares[kind]) if (spares[kind].length < MAX_SPARES) spares[kind].push(spare);
      if (gate.isShut && queuedBytes <= maxQueuedBytes / 2) gate.open();
    } else if (message.type === 'collect') {
      send({ type: 'metrics', snapshot: registry.snapshot(), id: message.id });
    } else if (!stopping) {
      stopping = true;
      clearInterval(push);
      void Promise.all(listeners.map((listener) => listener.close())).then(() => {
        handOver();
        send({ type: 'stopped', snapshot: registry.snapshot() });
        port.close();
      });
    }
  });
  const started = await startIngestListeners(config, handlers, logger, { reusePort: true, gate }, start.ports);
  listeners = started.listeners;
  send({ type: 'listening', ports: started.ports, snapshot: registry.snapshot() });
}

main().catch((error: unknown) =>
  send({ type: 'failed', message: error instanceof Error ? error.message : String(error) }),
);
