#!/usr/bin/env node
/**
 * `npm start`: single-node carillon. Graphite (TCP/UDP :2003) and StatsD (UDP/TCP :8125) listeners feed one
 * aggregating node that writes whisper files and serves the Graphite API, /metrics and /healthz on :8080.
 * SIGTERM or SIGINT flushes every open window before exiting.
 */
import { createLogger, onStopSignals, readProgramConfig, runProgram } from '@carillon/core';
import { startLineListeners, type Listener } from '@carillon/protocols';
import { AccumulatorNode } from '@carillon/accumulator';
import { readAllInOneConfig } from './config.js';

async function main(): Promise<void> {
  const config = readProgramConfig(
    {
      name: 'carillon',
      description: 'Single-node carillon: Graphite and StatsD in, whisper files and the Graphite API out',
      exampleOverride: 'http.listen=:8081',
      read: readAllInOneConfig,
    },
    process.argv,
  );
  const logger = createLogger('carillon', config.node.logLevel);
  const node = await AccumulatorNode.start(config.node, logger);
  const { ingest } = node;
  const graphite = await startLineListeners(config.graphite, ingest.graphiteCounters, ingest.graphiteLine, logger);
  const statsd = await startLineListeners(config.statsd, ingest.statsdCounters, ingest.statsdLine, logger);
  const listeners = [graphite.tcp, graphite.udp, statsd.tcp, statsd.udp].filter((l): l is Listener => !!l);
  logger.info(
    { resolutions: config.node.aggregator.resolutions.map((r) => r.name), store: config.node.store },
    'carillon started',
  );

  onStopSignals(async (signal) => {
    logger.info({ signal }, 'stopping: closing listeners, flushing open windows');
    await Promise.all(listeners.map((listener) => listener.close()));
    await node.stop();
    logger.info('stopped');
    process.exit(0);
  });
}

runProgram('carillon', main);
