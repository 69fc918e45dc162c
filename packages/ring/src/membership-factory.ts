/**
 * The membership a program's `ring.*` configuration describes: Redis (registering `self` when given, watching
 * only otherwise) or the static member list. One place, so the relay and the accumulator build it alike.
 */
import type { Logger, MetricsRegistry } from '@carillon/core';
import { RedisMembership, StaticMembership, type Membership } from './membership.js';
import type { RingConfig } from './ring-config.js';
import { readFileSync } from 'node:fs';
import type { RedisConnectionOptions } from './membership.js';
import type { RingMember } from './ring-versions.js';

export interface MembershipRole {
  /**
   * This accumulator: registered, kept alive by its heartbeat, and a writer of new versions. Absent for a relay,
   * which only watches: accumulators register and write versions.
   */
  self?: RingMember;
  /** Versions switch only on multiples of this many seconds: ringStepOf(the resolutions). */
  step: number;
  metrics?: MetricsRegistry;
  logger?: Logger;
}

export function createMembership(config: RingConfig, role: MembershipRole): Membership {
  const ring = { replicas: config.replicas };
  if (config.redisUrl === '') return new StaticMembership(config.staticMembers, ring);
  const self = role.self;
  return new RedisMembership({
    redisUrl: config.redisUrl,
    redis: redisConnectionOf(config),
    prefix: config.prefix,
    timing: { step: role.step, propagationDelay: config.propagationDelaySeconds, retain: config.retainSeconds },
    ...(self === undefined
      ? { reconcile: false }
      : { self, heartbeatIntervalMs: config.heartbeatIntervalMs, heartbeatTtlMs: config.heartbeatTtlMs }),
    pollIntervalMs: config.pollIntervalMs,
    connectTimeoutMs: config.timeoutMs,
    commandTimeoutMs: config.timeoutMs,
    ring,
    metrics: role.metrics,
    logger: role.logger,
  });
}

/** ioredis credentials and TLS from the `ring.redis_*` keys (files read now; a rotation needs a restart). */
export function redisConnectionOf(config: RingConfig): RedisConnectionOptions {
  const read = (path: string): Buffer | undefined => (path === '' ? undefined : readFileSync(path));
  const tlsOn = config.redisTls || config.redisUrl.startsWith('rediss://');
  return {
    ...(config.redisUsername === '' ? {} : { username: config.redisUsername }),
    ...(config.redisPassword === '' ? {} : { password: config.redisPassword }),
    ...(tlsOn
      ? { tls: { ca: read(config.redisTlsCa), cert: read(config.redisTlsCert), key: read(config.redisTlsKey) } }
      : {}),
  };
}
