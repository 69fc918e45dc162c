import type { RingMember } from './ring-versions.js';
import type { StatsdPlacement } from './placement.js';

/** The `ring.*` keys and the static member list, as both programs read them. */
export interface RingConfig {
  /** Redis URL; '' means the static member list. */
  redisUrl: string;
  /** Credentials and TLS of the Redis connection ('' = none / system roots). */
  redisUsername: string;
  redisPassword: string;
  redisTls: boolean;
  redisTlsCa: string;
  redisTlsCert: string;
  redisTlsKey: string;
  prefix: string;
  staticMembers: RingMember[];
  placement: StatsdPlacement;
  replicas: number;
  propagationDelaySeconds: number;
  retainSeconds: number;
  heartbeatIntervalMs: number;
  heartbeatTtlMs: number;
  pollIntervalMs: number;
  timeoutMs: number;
}
