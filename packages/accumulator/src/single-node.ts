/**
 * Single-node carillon (`npm start`): one aggregating node fed by its own Graphite, pickle and StatsD listeners.
 * `stop()` closes the listeners, then flushes every open window and closes the node.
 */
import { MetricsRegistry, type Logger } from '@carillon/core';
import {
  LineCounters,
  startLineListeners,
  startPickleListener,
  withKeyRules,
  type Listener,
} from '@carillon/protocols';
import { AccumulatorNode } from './node.js';
import type { AllInOneConfig } from './single-node-config.js';

export class SingleNode {
  private stopping: Promise<void> | undefined;

  private constructor(
    readonly node: AccumulatorNode,
    private readonly listeners: Listener[],
  ) {}

  static async start(config: AllInOneConfig, logger: Logger, registry = new MetricsRegistry()): Promise<SingleNode> {
    let listening = false;
    const node = await AccumulatorNode.start(config.node, logger, registry, {
      readiness: { listeners: () => (listening ? undefined : 'listeners not bound yet') },
    });
    const { ingest, logged } = node;
    // With the log, lines are staged per read and logged before they are parsed (logged-ingest.ts).
    const lines = config.node.wal.dir === '' ? ingest : logged;
    // Pickled points arrive as Graphite lines, logged like them; carbon's name rules see both first.
    const graphiteLine = withKeyRules(config.keyRules, ingest.graphiteCounters, lines.graphiteLine);
    const graphite = await startLineListeners(config.graphite, ingest.graphiteCounters, graphiteLine, logger);
    const pickleCounters = new LineCounters(registry, 'pickle');
    const pickle = await startPickleListener(config.pickle, pickleCounters, graphiteLine, logger);
    // Without the log, StatsD datagrams go to the ingest whole: it reads their lines without splitting first.
    const statsdDatagrams = lines === ingest ? ingest.statsdDatagram : undefined;
    const statsd = await startLineListeners(
      config.statsd,
      ingest.statsdCounters,
      lines.statsdLine,
      logger,
      false,
      statsdDatagrams,
    );
    const listeners = [graphite.tcp, graphite.udp, pickle, statsd.tcp, statsd.udp].filter((l): l is Listener => !!l);
    listening = true;
    logger.info(
      { resolutions: config.node.aggregator.resolutions.map((r) => r.name), store: config.node.store },
      'carillon started',
    );
    return new SingleNode(node, listeners);
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      await Promise.all(this.listeners.map((listener) => listener.close()));
      await this.node.stop();
    })();
    return this.stopping;
  }
}
