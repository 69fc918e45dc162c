#!/usr/bin/env node
/**
 * `npm start`: single-node carillon. Graphite (TCP/UDP :2003) and StatsD (UDP/TCP :8125) listeners feed one
 * aggregating node that writes whisper files and serves the Graphite API, /metrics and /healthz on :8080.
 * SIGTERM or SIGINT flushes every open window before exiting.
 */
import { runService } from '@carillon/core';
import { SingleNode, readAllInOneConfig } from '@carillon/accumulator';

runService({
  name: 'carillon',
  description: 'Single-node carillon: Graphite and StatsD in, whisper files and the Graphite API out',
  exampleOverride: 'http.listen=:8081',
  read: readAllInOneConfig,
  logLevel: (config) => config.node.logLevel,
  start: (config, logger) => SingleNode.start(config, logger),
  stopping: 'stopping: closing listeners, flushing open windows',
});
