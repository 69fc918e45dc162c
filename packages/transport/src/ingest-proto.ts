/**
 * Loads proto/ingest.proto at runtime and names the message shapes as proto-loader delivers them
 * (camelCase fields, uint64/int64 as Number, enums as their names, bytes as Buffer).
 */
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

export type LineFormat = 'graphite' | 'statsd';

export type WireFormat = 'FORMAT_UNSPECIFIED' | 'GRAPHITE' | 'STATSD';

/** A LineBatch as written by the client and read by the server. */
export interface WireLineBatch {
  relayId: string;
  sequence: number;
  format: WireFormat;
  ringVersion: number;
  lines: Buffer;
  lineCount: number;
  receivedAtMs: number;
  /** The link's goodbye (no lines): it holds nothing more for this accumulator; absent (false) otherwise. */
  last?: boolean;
}

export interface WireAck {
  processed: number;
  durable: number;
  /** Points refused since the previous ack on the stream, by reason; empty (or absent, from an older peer) when none. */
  refused?: { reason: string; points: number }[];
}

export interface WireStatusReply {
  memberId: string;
  ringVersion: number;
  series: number;
}

// src/ and dist/ sit at the same depth under packages/transport, so one relative path serves both.
export const INGEST_PROTO_PATH = fileURLToPath(new URL('../../../proto/ingest.proto', import.meta.url));

const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: false,
  // Sequences and timestamps stay far below 2^53, so Number is exact.
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
};

let cached: grpc.ServiceClientConstructor | undefined;

/** The generated `carillon.v1.Ingest` service constructor (its `.service` is the server definition). */
export function ingestService(): grpc.ServiceClientConstructor {
  if (cached) return cached;
  const definition = protoLoader.loadSync(INGEST_PROTO_PATH, LOADER_OPTIONS);
  const root = grpc.loadPackageDefinition(definition);
  const v1 = (root['carillon'] as grpc.GrpcObject)['v1'] as grpc.GrpcObject;
  cached = v1['Ingest'] as grpc.ServiceClientConstructor;
  return cached;
}

export function toWireFormat(format: LineFormat): WireFormat {
  return format === 'graphite' ? 'GRAPHITE' : 'STATSD';
}

export function fromWireFormat(format: WireFormat): LineFormat | undefined {
  if (format === 'GRAPHITE') return 'graphite';
  if (format === 'STATSD') return 'statsd';
  return undefined;
}

/**
 * The part of a relay id that names its host: metrics are labelled by it, not by the full id, because the id
 * changes on every relay restart and would grow label cardinality without bound.
 */
export function relayHost(relayId: string): string {
  const slash = relayId.indexOf('/');
  return slash < 0 ? relayId : relayId.slice(0, slash);
}
