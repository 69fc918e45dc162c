/**
 * One write-ahead log record: the raw line bytes of one read (or relay batch) and what LineIngest needs to
 * process them again exactly as it did the first time. Pure encode/decode, no I/O.
 *
 * Layout (little-endian): u32 bodyLength | u32 crc32(body) | body, where body is
 *   u8 version | u8 format | u16 relayIdLength | u32 receivedAt | u32 nodeNow | u32 acceptFrom | f64 sequence |
 *   relayId (UTF-8) | lines.
 * The length and CRC let a reader tell a complete record from a torn tail left by a crash mid-append.
 */
import { decodeFrame, FRAME_BYTES, frameHeader } from '@carillon/core';

export type WalFormat = 'graphite' | 'statsd';

export interface WalRecord {
  format: WalFormat;
  /** Receive time (epoch seconds): Graphite lines without a timestamp, and the StatsD arrival interval. */
  receivedAt: number;
  /** The node's clock when the record was appended: bounds `max_future` on replay as it did live. */
  nodeNow: number;
  /** Start of the oldest finest window accepting points when appended: older points were late then, and are again. */
  acceptFrom: number;
  /** Relay batches: the relay's id and the batch sequence, to rebuild the ingest server's dedupe. '' and 0 otherwise. */
  relayId: string;
  sequence: number;
  lines: Buffer;
}

export const RECORD_VERSION = 1;
export { FRAME_BYTES, MAX_BODY_BYTES } from '@carillon/core';
const FIXED_BODY_BYTES = 1 + 1 + 2 + 4 + 4 + 4 + 8;

const FORMAT_CODES: Record<WalFormat, number> = { graphite: 0, statsd: 1 };
const FORMATS: readonly WalFormat[] = ['graphite', 'statsd'];

/**
 * Everything in front of the lines (frame and fixed fields, relay id), with the CRC already over the lines too:
 * the caller writes header and lines in one writev, and the lines are never copied.
 */
export function encodeRecordHeader(record: WalRecord): Buffer {
  const relayId = Buffer.from(record.relayId, 'utf8');
  if (relayId.length > 0xffff) throw new RangeError('relay id longer than 65535 bytes');
  const header = Buffer.allocUnsafe(FRAME_BYTES + FIXED_BODY_BYTES + relayId.length);
  let at = FRAME_BYTES;
  at = header.writeUInt8(RECORD_VERSION, at);
  at = header.writeUInt8(FORMAT_CODES[record.format], at);
  at = header.writeUInt16LE(relayId.length, at);
  at = header.writeUInt32LE(record.receivedAt, at);
  at = header.writeUInt32LE(record.nodeNow, at);
  at = header.writeUInt32LE(Math.max(0, record.acceptFrom), at);
  at = header.writeDoubleLE(record.sequence, at);
  relayId.copy(header, at);
  return frameHeader(header, [record.lines]);
}

/** The whole record as one buffer (tests, tools). */
export function encodeRecord(record: WalRecord): Buffer {
  return Buffer.concat([encodeRecordHeader(record), record.lines]);
}

export type DecodeResult =
  | { kind: 'record'; record: WalRecord; next: number }
  /** Fewer bytes than the frame promises: a torn tail (or the end, when `offset` is the buffer's end). */
  | { kind: 'short' }
  /** Complete frame, wrong CRC or impossible fields: damage. */
  | { kind: 'corrupt'; reason: string };

/** Decodes the record at `offset` of `data`. The lines are a view into `data`, not a copy. */
export function decodeRecord(data: Buffer, offset: number): DecodeResult {
  const frame = decodeFrame(data, offset, FIXED_BODY_BYTES);
  if (frame.kind !== 'frame') return frame;
  const decoded = decodeRecordBody(frame.body);
  return typeof decoded === 'string'
    ? { kind: 'corrupt', reason: decoded }
    : { kind: 'record', record: decoded, next: frame.next };
}

/** The record in a frame's body, or the reason it is damaged. */
export function decodeRecordBody(body: Buffer): WalRecord | string {
  if (body.length < FIXED_BODY_BYTES) return 'length';
  if (body.readUInt8(0) !== RECORD_VERSION) return 'version';
  const format = FORMATS[body.readUInt8(1)];
  if (format === undefined) return 'format';
  const relayIdLength = body.readUInt16LE(2);
  if (FIXED_BODY_BYTES + relayIdLength > body.length) return 'relay_id';
  return {
    format,
    receivedAt: body.readUInt32LE(4),
    nodeNow: body.readUInt32LE(8),
    acceptFrom: body.readUInt32LE(12),
    sequence: body.readDoubleLE(16),
    relayId: body.toString('utf8', FIXED_BODY_BYTES, FIXED_BODY_BYTES + relayIdLength),
    lines: body.subarray(FIXED_BODY_BYTES + relayIdLength),
  };
}
