#!/usr/bin/env node
/** `carillon-accumulator`: reads its configuration and runs one Accumulator until SIGTERM (see @carillon/accumulator). */
import { createLogger, onStopSignals, readProgramConfig, runProgram } from '@carillon/core';
import { Accumulator, readAccumulatorConfig } from '@carillon/accumulator';

async function main(): Promise<void> {
  const config = readProgramConfig(
    {
      name: 'carillon-accumulator',
      description: 'Accumulator: relay batches over gRPC in, aggregated windows to the writers, Graphite API out',
      exampleOverride: 'member.id=acc-0',
      read: readAccumulatorConfig,
    },
    process.argv,
  );
  const logger = createLogger('carillon-accumulator', config.node.logLevel);
  const accumulator = new Accumulator(config, logger);
  await accumulator.start();
  onStopSignals(async (signal) => {
    logger.info({ signal }, 'stopping: leaving the ring, flushing owned windows');
    await accumulator.stop();
    logger.info('stopped');
    process.exit(0);
  });
}

runProgram('carillon-accumulator', main);
