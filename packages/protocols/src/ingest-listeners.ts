/**
 * Every listener a program that takes Graphite, pickle and StatsD traffic runs, started together: the relay's
 * ingest (on its main thread or in each ingest worker) and the single node's (on its main thread or in each
 * listener thread). carbon's name rules see Graphite and pickle lines first; pickled points arrive as Graphite
 * lines. With `ports`, a listener asked for port 0 binds the port another thread got instead (SO_REUSEPORT).
 */
import type { Logger } from '@carillon/core';
import type { LineHandler } from './lines.js';
import { withKeyRules, type KeyRules } from './key-rules.js';
import { startLineListeners, type LineListenerConfig } from './listener-config.js';
import type { DatagramHandler, Listener, SharedListening } from './listeners.js';
import { startPickleListener, type PickleListenerConfig } from './pickle-listener.js';
import { LineCounters } from './reasons.js';

export interface IngestListenerConfig {
  graphite: LineListenerConfig;
  pickle: PickleListenerConfig;
  statsd: LineListenerConfig;
  keyRules: KeyRules;
}

/** The ports bound, per listener (absent: not enabled). */
export interface IngestPorts {
  graphiteTcp?: number;
  graphiteUdp?: number;
  pickleTcp?: number;
  statsdTcp?: number;
  statsdUdp?: number;
}

/** Where the lines go: counted on the protocols' counters, the pickle's in the same registry. */
export interface IngestHandlers {
  graphiteCounters: LineCounters;
  graphiteLine: LineHandler;
  statsdCounters: LineCounters;
  statsdLine: LineHandler;
  /** StatsD UDP datagrams whole (listeners.ts `datagrams`), when the consumer reads them without splitting. */
  statsdDatagrams?: DatagramHandler;
}

export interface IngestListeners {
  listeners: Listener[];
  ports: IngestPorts;
}

export async function startIngestListeners(
  config: IngestListenerConfig,
  handlers: IngestHandlers,
  logger: Logger,
  shared: SharedListening = {},
  ports: IngestPorts = {},
): Promise<IngestListeners> {
  const at = <T extends { port: number }>(address: T | null, port: number | undefined): T | null =>
    address && port !== undefined ? { ...address, port } : address;
  const graphiteConfig = {
    ...config.graphite,
    tcp: at(config.graphite.tcp, ports.graphiteTcp),
    udp: at(config.graphite.udp, ports.graphiteUdp),
  };
  const statsdConfig = {
    ...config.statsd,
    tcp: at(config.statsd.tcp, ports.statsdTcp),
    udp: at(config.statsd.udp, ports.statsdUdp),
  };
  const pickleConfig = { ...config.pickle, tcp: at(config.pickle.tcp, ports.pickleTcp) };
  const { graphiteCounters, statsdCounters } = handlers;
  const graphiteLine = withKeyRules(config.keyRules, graphiteCounters, handlers.graphiteLine);
  const graphite = await startLineListeners(graphiteConfig, graphiteCounters, graphiteLine, logger, shared);
  const statsd = await startLineListeners(
    statsdConfig,
    statsdCounters,
    handlers.statsdLine,
    logger,
    shared,
    handlers.statsdDatagrams,
  );
  const pickleCounters = new LineCounters(graphiteCounters.registry, 'pickle');
  const pickle = await startPickleListener(pickleConfig, pickleCounters, graphiteLine, logger, shared);
  return {
    listeners: [graphite.tcp, graphite.udp, pickle, statsd.tcp, statsd.udp].filter((l): l is Listener => !!l),
    ports: {
      graphiteTcp: graphite.tcp?.port,
      graphiteUdp: graphite.udp?.port,
      pickleTcp: pickle?.port,
      statsdTcp: statsd.tcp?.port,
      statsdUdp: statsd.udp?.port,
    },
  };
}
