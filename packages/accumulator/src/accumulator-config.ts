/**
 * The accumulator program's configuration: a node (readNodeConfig) plus its identity in the ring, the gRPC
 * listener relays send to, the ring (readRingConfig, as the relays read it), durability and shutdown. Every error
 * names its key.
 */
import { hostname } from 'node:os';
import { join } from 'node:path';
import {
  ConfigError,
  configKey,
  configSchema,
  readSection,
  type ConfigSource,
  type ListenAddress,
} from '@carillon/core';
import { RING_KEYS, readRingConfig, type RingConfig, type RingMember } from '@carillon/ring';
import { CLUSTER_KEYS, readClusterSecurity, type ClusterSecurity } from '@carillon/transport';
import { NODE_SCHEMA, readNodeConfig, type NodeConfig } from './node-config.js';

export const MEMBER_KEYS = {
  id: configKey.string({
    key: 'member.id',
    default: '',
    computedDefault: 'the hostname',
    description: 'this member\'s id in the ring (no blanks or "=")',
  }),
  address: configKey.string({
    key: 'member.address',
    default: '',
    computedDefault: 'hostname:<grpc.listen port>',
    description: 'host:port where relays reach this member',
  }),
  weight: configKey.integer({
    key: 'member.weight',
    default: 1,
    min: 1,
    max: 1000,
    description: 'relative share of keys (Redis membership)',
  }),
} as const;

export const GRPC_KEYS = {
  listen: configKey.listen({
    key: 'grpc.listen',
    default: ':7000',
    required: 'relays send their batches there',
    description: 'the Ingest server relays send batches to',
  }),
  maxMessageBytes: configKey.integer({
    key: 'grpc.max_message_bytes',
    default: 16 << 20,
    min: 64 << 10,
    unit: 'bytes',
    description: 'largest batch message accepted',
  }),
  keepaliveTimeMs: configKey.duration({
    key: 'grpc.keepalive_time',
    default: '30s',
    readAs: 'milliseconds',
    description: 'keepalive ping interval',
  }),
  keepaliveTimeoutMs: configKey.duration({
    key: 'grpc.keepalive_timeout',
    default: '10s',
    readAs: 'milliseconds',
    description: 'an unanswered keepalive ping closes the connection after this',
  }),
  closeTimeoutMs: configKey.duration({
    key: 'grpc.close_timeout',
    default: '5s',
    readAs: 'milliseconds',
    description: 'on shutdown, streams still open after this are cancelled',
  }),
} as const;

export const DURABILITY_KEYS = {
  watermarkFile: configKey.string({
    key: 'durability.watermark_file',
    default: '',
    computedDefault: '<whisper.data_dir>/flush-watermark.json',
    description: 'where the flush watermark lives; "" keeps none (no resume after a crash)',
  }),
  maxRelays: configKey.integer({
    key: 'durability.max_relays',
    default: 10_000,
    min: 1,
    unit: 'relays',
    description: 'relays whose durable sequence is remembered (idle ones forgotten past it, counted)',
  }),
  replayWaitMs: configKey.duration({
    key: 'durability.replay_wait',
    // Longer than the relays' link.backoff_max (10 s) plus a Status call: a relay that kept failing to connect
    // while this member was down replays before the windows its batches fall in close.
    default: '15s',
    readAs: 'milliseconds',
    description:
      "after a resume, flush ticks wait this long for relays to reconnect and replay; keep it above the relays' link.backoff_max",
  }),
  maxResumeAgeSeconds: configKey.duration({
    key: 'durability.max_resume_age',
    default: '1h',
    readAs: 'seconds',
    description: 'an older watermark is ignored (start afresh): the relays no longer hold that much',
  }),
} as const;

export const SHUTDOWN_MAX_WAIT_KEY = configKey.duration({
  key: 'shutdown.max_wait',
  default: '15m',
  readAs: 'milliseconds',
  description: 'bound on serving owned windows after SIGTERM',
});

export const SHUTDOWN_RELAY_RETURN_WAIT_KEY = configKey.duration({
  key: 'shutdown.relay_return_wait',
  default: '60s',
  readAs: 'milliseconds',
  description:
    'after SIGTERM, a relay whose stream ended without its goodbye (a kill, a crash) less than this long ago, with batches here not durable yet, is waited for (within shutdown.max_wait): it comes back and replays from its spool lines for the windows this member owned; keep it above a relay restart',
});

export const FILE_WRITER_PATH_KEY = configKey.string({
  key: 'statpoint_file.path',
  default: '',
  description: 'append every flushed StatPoint as a JSON line (audits, tests); "" for none',
});

/** The keys the accumulator adds to a node's. */
export const ACCUMULATOR_OWN_SCHEMA = configSchema(MEMBER_KEYS, GRPC_KEYS, CLUSTER_KEYS, RING_KEYS, DURABILITY_KEYS, [
  SHUTDOWN_MAX_WAIT_KEY,
  SHUTDOWN_RELAY_RETURN_WAIT_KEY,
  FILE_WRITER_PATH_KEY,
]);

/** Every key the accumulator program reads. */
export const ACCUMULATOR_SCHEMA = configSchema(NODE_SCHEMA, ACCUMULATOR_OWN_SCHEMA);

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
  /** The token relays must present, and TLS (mTLS) of the gRPC port. */
  cluster: ClusterSecurity;
  ring: RingConfig;
  durability: {
    /** Where the flush watermark lives; '' keeps none (no resume after a crash). */
    watermarkFile: string;
    maxRelays: number;
    /** After resuming, flush ticks wait this long so relays can reconnect and replay first. */
    replayWaitMs: number;
    /** A watermark older than this is not resumed from (the relays no longer hold that much). */
    maxResumeAgeSeconds: number;
  };
  /** Bound on serving after SIGTERM, and how long a crashed relay is waited for (SHUTDOWN_RELAY_RETURN_WAIT_KEY). */
  shutdown: { maxWaitMs: number; relayReturnWaitMs: number };
  /** The StatPoint file writer's path; '' for none. */
  fileWriterPath: string;
}

function readMember(source: ConfigSource, grpcPort: number): RingMember {
  const id = source.read(MEMBER_KEYS.id, hostname());
  if (id.trim() === '' || /[\s=]/.test(id))
    throw new ConfigError(MEMBER_KEYS.id.key, `must be a name without blanks or "=", got "${id}"`);
  const address = source.read(MEMBER_KEYS.address, `${hostname()}:${grpcPort}`);
  if (!/^[^:\s]+:\d+$/.test(address))
    throw new ConfigError(
      MEMBER_KEYS.address.key,
      `must be host:port (where relays reach this member), got "${address}"`,
    );
  const weight = source.read(MEMBER_KEYS.weight);
  return { id, address, ...(weight === 1 ? {} : { weight }) };
}

/** A static list must name this member, or it would never own anything. */
function checkStaticMembersIncludeSelf(ring: RingConfig, member: RingMember): void {
  if (ring.staticMembers.length > 0 && !ring.staticMembers.some((m) => m.id === member.id))
    throw new ConfigError(RING_KEYS.staticMembers.key, `must include this member (member.id = "${member.id}")`);
}

export function readAccumulatorConfig(source: ConfigSource): AccumulatorConfig {
  const node = readNodeConfig(source);
  const grpc = readSection(source, GRPC_KEYS);
  // `required` makes the read refuse "": the listener is never null here.
  const grpcListen = grpc.listen!;
  const member = readMember(source, grpcListen.port);
  const ring = readRingConfig(source, node.aggregator.resolutions[0]!.ttl);
  checkStaticMembersIncludeSelf(ring, member);
  const durability = readSection(source, DURABILITY_KEYS);
  const config: AccumulatorConfig = {
    node,
    member,
    grpc: { ...grpc, listen: grpcListen },
    cluster: readClusterSecurity(source, 'accumulator'),
    ring,
    durability: {
      ...durability,
      watermarkFile: source.read(DURABILITY_KEYS.watermarkFile, join(node.whisper.dataDir, 'flush-watermark.json')),
    },
    shutdown: {
      maxWaitMs: source.read(SHUTDOWN_MAX_WAIT_KEY),
      relayReturnWaitMs: source.read(SHUTDOWN_RELAY_RETURN_WAIT_KEY),
    },
    fileWriterPath: source.read(FILE_WRITER_PATH_KEY),
  };
  source.assertAllKeysKnown();
  return config;
}
