#!/usr/bin/env node
/** `carillon-accumulator`: reads its configuration and runs one Accumulator until SIGTERM (see @carillon/accumulator). */
import { runService } from '@carillon/core';
import { Accumulator, readAccumulatorConfig } from '@carillon/accumulator';

runService({
  name: 'carillon-accumulator',
  description: 'Accumulator: relay batches over gRPC in, aggregated windows to the writers, Graphite API out',
  exampleOverride: 'member.id=acc-0',
  read: readAccumulatorConfig,
  logLevel: (config) => config.node.logLevel,
  start: async (config, logger) => {
    const accumulator = new Accumulator(config, logger);
    await accumulator.start();
    return accumulator;
  },
  stopping: 'stopping: leaving the ring, flushing owned windows',
});
