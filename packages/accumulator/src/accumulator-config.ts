/**
 * The accumulator program's configuration: a node (readNodeConfig) plus its identity in the ring, the gRPC
 * listener relays send to, membership (Redis, or a static member list), durability and shutdown. Every error
 * names its key.
 */
import { hostname } from 'node:os';
import { join } from 'node:path';
import { ConfigError, parseListenAddress, type ConfigSource, type ListenAddress } from '@carillon/core';
import { DEFAULT_REPLICAS, readStatsdPlacement, type RingMember, type StatsdPlacement } from '@carillon/ring';
import { checkNodeConfig, readNodeConfig, type NodeConfig } from './node-config.js';

export interface MembershipConfig {
  /** Redis URL; empty means the static member list. */
  redisUrl: string;
  prefix: string;
  staticMembers: RingMember[];
  /** How StatsD keys are placed (`ring.placement`, as the relays read it): decides which StatsD lines are ours. */
  placement: StatsdPlacement;
  replicas: number;
  propagationDelaySeconds: number;
  retainSeconds: number;
  heartbeatIntervalMs: number;
  heartbeatTtlMs: number;
  pollIntervalMs: number;
  timeoutMs: number;
}

export interface AccumulatorConfig {
  node: NodeConfig;
  member: RingMember;
  grpc: {
    listen: ListenAddress;
    maxMessageBytes: number;
    keepaliveTimeMs: number;
    keepaliveTimeoutMs: number;
    closeTimeoutMs: number;
  };
  ring: MembershipConfig;
  durability: {
    /** Where the flush watermark lives; '' keeps none (no resume after a crash). */
    watermarkFile: string;
    maxRelays: number;
    /** After resuming, flush ticks wait this long so relays can reconnect and replay first. */
    replayWaitMs: number;
    /** A watermark older than this is not resumed from (the relays no longer hold that much). */
    maxResumeAgeSeconds: number;
  };
  shutdown: { maxWaitMs: number };
  /** The StatPoint file writer's path; '' for none. */
  fileWriterPath: string;
}

/** One `accumulators` entry, `id=host:port`: the same list (and key) the relays read. */
export function parseStaticMember(text: string, key: string): RingMember {
  const match = /^([^=\s]+)=([^\s:=]+):(\d{1,5})$/.exec(text.trim());
  if (!match || Number(match[3]) < 1 || Number(match[3]) > 65535)
    throw new ConfigError(key, `members are "id=host:port", got "${text}"`);
  return { id: match[1]!, address: `${match[2]}:${match[3]}` };
}

export function readAccumulatorConfig(source: ConfigSource): AccumulatorConfig {
  const node = readNodeConfig(source);
  checkNodeConfig(node);

  const grpcListen = parseListenAddress(source.string('grpc.listen', ':7000'), 'grpc.listen');
  if (grpcListen === null) throw new ConfigError('grpc.listen', 'must be set: relays send their batches there');
  const id = source.string('member.id', hostname());
  if (id.trim() === '' || /[\s=]/.test(id))
    throw new ConfigError('member.id', `must be a name without blanks or "=", got "${id}"`);
  const address = source.string('member.address', `${hostname()}:${grpcListen.port}`);
  if (!/^[^:\s]+:\d+$/.test(address))
    throw new ConfigError('member.address', `must be host:port (where relays reach this member), got "${address}"`);
  const weight = source.integer('member.weight', 1, { min: 1, max: 1000 });

  const redisUrl = source.string('ring.redis_url', '');
  const staticMembers = source
    .stringList('accumulators', [])
    .map((text, i) => parseStaticMember(text, `accumulators[${i}]`));
  if (redisUrl === '' && staticMembers.length === 0)
    throw new ConfigError('ring.redis_url', 'set ring.redis_url, or list the members in accumulators');
  if (redisUrl !== '' && staticMembers.length > 0)
    throw new ConfigError('accumulators', 'give either ring.redis_url or accumulators, not both');
  if (staticMembers.length > 0 && !staticMembers.some((m) => m.id === id))
    throw new ConfigError('accumulators', `must include this member (member.id = "${id}")`);
  const heartbeatIntervalMs = 1000 * source.duration('ring.heartbeat_interval', '1s');
  const heartbeatTtlMs = 1000 * source.duration('ring.heartbeat_ttl', '5s');
  if (heartbeatIntervalMs <= 0) throw new ConfigError('ring.heartbeat_interval', 'must be above zero');
  if (heartbeatTtlMs <= heartbeatIntervalMs)
    throw new ConfigError('ring.heartbeat_ttl', 'must be longer than ring.heartbeat_interval, or members flap');
  const ring: MembershipConfig = {
    redisUrl,
    prefix: source.string('ring.prefix', 'carillon'),
    staticMembers,
    placement: readStatsdPlacement(source, redisUrl),
    replicas: source.integer('ring.replicas', DEFAULT_REPLICAS, { min: 1, max: 100_000 }),
    propagationDelaySeconds: source.duration('ring.propagation_delay', '10s'),
    retainSeconds: source.duration('ring.retain', '1h'),
    heartbeatIntervalMs,
    heartbeatTtlMs,
    pollIntervalMs: 1000 * source.duration('ring.poll_interval', '5s'),
    timeoutMs: 1000 * source.duration('ring.timeout', '2s'),
  };
  if (ring.pollIntervalMs <= 0) throw new ConfigError('ring.poll_interval', 'must be above zero');
  if (ring.timeoutMs <= 0) throw new ConfigError('ring.timeout', 'must be above zero');

  const config: AccumulatorConfig = {
    node,
    member: { id, address, ...(weight === 1 ? {} : { weight }) },
    grpc: {
      listen: grpcListen,
      maxMessageBytes: source.integer('grpc.max_message_bytes', 16 << 20, { min: 64 << 10 }),
      keepaliveTimeMs: 1000 * source.duration('grpc.keepalive_time', '30s'),
      keepaliveTimeoutMs: 1000 * source.duration('grpc.keepalive_timeout', '10s'),
      closeTimeoutMs: 1000 * source.duration('grpc.close_timeout', '5s'),
    },
    ring,
    durability: {
      watermarkFile: source.string('durability.watermark_file', join(node.whisper.dataDir, 'flush-watermark.json')),
      maxRelays: source.integer('durability.max_relays', 10_000, { min: 1 }),
      replayWaitMs: 1000 * source.duration('durability.replay_wait', '5s'),
      maxResumeAgeSeconds: source.duration('durability.max_resume_age', '1h'),
    },
    shutdown: { maxWaitMs: 1000 * source.duration('shutdown.max_wait', '15m') },
    fileWriterPath: source.string('writers.file.path', ''),
  };
  source.assertAllKeysKnown();
  return config;
}
