#!/usr/bin/env node
/**
 * `npm start`: single-node carillon. Graphite (TCP/UDP :2003) and StatsD (UDP/TCP :8125) listeners feed one
 * aggregating node that writes whisper files and serves the Graphite API, /metrics and /healthz on :8080.
 * SIGTERM or SIGINT flushes every open window before exiting.
 */
import { Command } from 'commander';
import { ConfigError, ConfigSource, createLogger, parseOverrides, readTomlFile, type Logger } from '@carillon/core';
import { listenTcp, listenUdp, type LineHandler, type LineCounters, type Listener } from '@carillon/protocols';
import { AccumulatorNode } from '@carillon/accumulator';
import { readAllInOneConfig, type ListenerConfig } from './config.js';

async function startListeners(
  name: string,
  config: ListenerConfig,
  lines: LineCounters,
  onLine: LineHandler,
  logger: Logger,
): Promise<Listener[]> {
  const listeners: Listener[] = [];
  if (config.tcp) {
    const tcp = await listenTcp(
      {
        ...config.tcp,
        lines,
        maxLineLength: config.maxLineLength,
        maxConnections: config.maxConnections,
        idleTimeoutMs: config.idleTimeoutMs,
      },
      onLine,
    );
    logger.info({ protocol: name, transport: 'tcp', host: tcp.host, port: tcp.port }, 'listening');
    listeners.push(tcp);
  }
  if (config.udp) {
    const udp = await listenUdp(
      { ...config.udp, lines, maxLineLength: config.maxLineLength, receiveBufferSize: config.udpReceiveBufferBytes },
      onLine,
    );
    logger.info({ protocol: name, transport: 'udp', host: udp.host, port: udp.port }, 'listening');
    listeners.push(udp);
  }
  return listeners;
}

async function main(argv: string[]): Promise<void> {
  const program = new Command()
    .name('carillon')
    .description('Single-node carillon: Graphite and StatsD in, whisper files and the Graphite API out')
    .option('-c, --config <file>', 'TOML configuration file (env CARILLON_CONFIG)', process.env.CARILLON_CONFIG)
    .option('-s, --set <key=value...>', 'override one config key, e.g. --set http.listen=:8081 (repeatable)', [])
    .parse(argv);
  const options = program.opts<{ config?: string; set: string[] }>();

  let config;
  try {
    const file = options.config ? readTomlFile(options.config) : {};
    config = readAllInOneConfig(new ConfigSource(file, process.env, parseOverrides(options.set)));
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`carillon: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }

  const logger = createLogger('carillon', config.node.logLevel);
  const node = await AccumulatorNode.start(config.node, logger);
  const listeners = [
    ...(await startListeners(
      'graphite',
      config.graphite,
      node.ingest.graphiteCounters,
      node.ingest.graphiteLine,
      logger,
    )),
    ...(await startListeners('statsd', config.statsd, node.ingest.statsdCounters, node.ingest.statsdLine, logger)),
  ];
  logger.info(
    { resolutions: config.node.aggregator.resolutions.map((r) => r.name), store: config.node.store },
    'carillon started',
  );

  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping: closing listeners, flushing open windows');
    await Promise.all(listeners.map((listener) => listener.close()));
    await node.stop();
    logger.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main(process.argv).catch((error: unknown) => {
  process.stderr.write(`carillon: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
