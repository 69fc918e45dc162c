#!/usr/bin/env node
/**
 * `carillon-relay`: stateless relay. Graphite (TCP/UDP :2003) and StatsD (UDP/TCP :8125) lines are placed on the
 * consistent-hash ring by key and window and forwarded as raw bytes to the owning accumulators over gRPC.
 * /metrics, /healthz and /ring on :8090. SIGTERM or SIGINT: close listeners, flush links, wait (bounded) for
 * durable acks, exit 0.
 */
import { runService } from '@carillon/core';
import { Relay, readRelayConfig } from '@carillon/relay';

runService({
  name: 'carillon-relay',
  description: 'Stateless carillon relay: Graphite and StatsD in, ring-placed batches to the accumulators out',
  exampleOverride: 'http.listen=:8091',
  read: readRelayConfig,
  logLevel: (config) => config.logLevel,
  start: (config, logger) => Relay.start(config, logger),
  stopping: 'stopping: closing listeners, flushing links',
});
