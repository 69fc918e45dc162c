/**
 * Single-node carillon (`npm start`): one aggregating node fed by its own Graphite, pickle and StatsD listeners,
 * in listener threads (`listeners.threads`, listener-threads.ts) or on the main thread. `stop()` closes the
 * listeners, then flushes every open window and closes the node.
 */
import { MetricsRegistry, type Logger } from '@carillon/core';
import { startIngestListeners, type Listener } from '@carillon/protocols';
import { ListenerThreads } from './listener-threads.js';
import { AccumulatorNode } from './node.js';
import type { AllInOneConfig } from './single-node-config.js';

export class SingleNode {
  private stopping: Promise<void> | undefined;

  private constructor(
    readonly node: AccumulatorNode,
    private readonly listeners: Listener[],
    private readonly threads: ListenerThreads | undefined,
  ) {}

  static async start(config: AllInOneConfig, logger: Logger, registry = new MetricsRegistry()): Promise<SingleNode> {
    let listening = false;
    let threads: ListenerThreads | undefined;
    const node = await AccumulatorNode.start(config.node, logger, registry, {
      readiness: { listeners: () => (listening ? threads?.notReady() : 'listeners not bound yet') },
      collectMetrics: () => threads?.collect() ?? Promise.resolve(),
    });
    let listeners: Listener[] = [];
    if (config.listeners.threads > 0) {
      const { graphite, statsd, pickle } = config;
      const zero = [graphite.tcp, graphite.udp, statsd.tcp, statsd.udp, pickle.tcp].some((a) => a?.port === 0);
      threads = await ListenerThreads.start(
        config.inputs,
        config.listeners.threads,
        { zero },
        node.logged,
        registry,
        logger,
      );
    } else {
      const { ingest, logged } = node;
      // With the log, lines are staged per read and logged before they are parsed (logged-ingest.ts); without
      // it, StatsD datagrams go to the ingest whole: it reads their lines without splitting first.
      const lines = config.node.wal.dir === '' ? ingest : logged;
      const handlers = {
        graphiteCounters: ingest.graphiteCounters,
        graphiteLine: lines.graphiteLine,
        statsdCounters: ingest.statsdCounters,
        statsdLine: lines.statsdLine,
        statsdDatagrams: lines === ingest ? ingest.statsdDatagram : undefined,
      };
      listeners = (await startIngestListeners(config, handlers, logger)).listeners;
    }
    listening = true;
    logger.info(
      {
        resolutions: config.node.aggregator.resolutions.map((r) => r.name),
        store: config.node.store,
        listenerThreads: config.listeners.threads,
      },
      'carillon started',
    );
    return new SingleNode(node, listeners, threads);
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      await Promise.all(this.listeners.map((listener) => listener.close()));
      await this.threads?.stop();
      await this.node.stop();
    })();
    return this.stopping;
  }
}
