#!/usr/bin/env node
/**
 * `carillon-relay`: stateless relay. Graphite (TCP/UDP :2003) and StatsD (UDP/TCP :8125) lines are placed on the
 * consistent-hash ring by key and window and forwarded as raw bytes to the owning accumulators over gRPC.
 * /metrics, /healthz and /ring on :8090. SIGTERM or SIGINT: close listeners, flush links, wait (bounded) for
 * durable acks, exit 0.
 */
import { Command } from 'commander';
import { ConfigError, ConfigSource, createLogger, parseOverrides, readTomlFile } from '@carillon/core';
import { readRelayConfig, type RelayConfig } from './config.js';
import { Relay } from './relay.js';

async function main(argv: string[]): Promise<void> {
  const program = new Command()
    .name('carillon-relay')
    .description('Stateless carillon relay: Graphite and StatsD in, ring-placed batches to the accumulators out')
    .option('-c, --config <file>', 'TOML configuration file (env CARILLON_CONFIG)', process.env.CARILLON_CONFIG)
    .option('-s, --set <key=value...>', 'override one config key, e.g. --set http.listen=:8091 (repeatable)', [])
    .parse(argv);
  const options = program.opts<{ config?: string; set: string[] }>();

  let config: RelayConfig;
  try {
    const file = options.config ? readTomlFile(options.config) : {};
    config = readRelayConfig(new ConfigSource(file, process.env, parseOverrides(options.set)));
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`carillon-relay: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }

  const logger = createLogger('carillon-relay', config.logLevel);
  const relay = await Relay.start(config, logger);

  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping: closing listeners, flushing links');
    await relay.stop();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main(process.argv).catch((error: unknown) => {
  process.stderr.write(`carillon-relay: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
