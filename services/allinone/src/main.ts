#!/usr/bin/env node
/**
 * `npm start`: single-node carillon. Graphite (TCP/UDP :2003) and StatsD (UDP/TCP :8125) listeners feed one
 * aggregating node that writes whisper files and serves the Graphite API, /metrics and /healthz on :8080.
 * SIGTERM or SIGINT flushes every open window before exiting.
 */
import { createLogger, onStopSignals, readProgramConfig, runProgram } from '@carillon/core';
import { SingleNode, readAllInOneConfig } from '@carillon/accumulator';

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
  const carillon = await SingleNode.start(config, logger);
  onStopSignals(async (signal) => {
    logger.info({ signal }, 'stopping: closing listeners, flushing open windows');
    await carillon.stop();
    logger.info('stopped');
    process.exit(0);
  });
}

runProgram('carillon', main);
