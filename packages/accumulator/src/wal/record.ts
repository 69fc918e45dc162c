/**
 * One write-ahead log record: the raw line bytes of one read (or relay batch) and what LineIngest needs to
 * process them again exactly as it did the first time. Pure encode/decode, no I/O.
 *
 * Layout (little-endian): u32 bodyLength | u32 crc32(body) | body, where body is
 *   u8 version | u8 format | u16 relayIdLength | u32 receivedAt | u32 nodeNow | u32 acceptFrom | f64 sequence |
 *   relayId (UTF-8) | lines.
 * The length and CRC let a reader tell a complete record from a torn tail left by a crash mid-append.
 */
import { crc32 } from 'node:zlib';

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
/** Length and CRC in front of the body. */
export const FRAME_BYTES = 8;
const FIXED_BODY_BYTES = 1 + 1 + 2 + 4 + 4 + 4 + 8;
/** A body longer than this is taken for garbage, not allocated. */
export const MAX_BODY_BYTES = 1 << 30;

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
  const bodyLength = header.length - FRAME_BYTES + record.lines.length;
  header.writeUInt32LE(bodyLength, 0);
  header.writeUInt32LE(crc32(record.lines, crc32(header.subarray(FRAME_BYTES))), 4);
  return header;
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
  if (data.length - offset < FRAME_BYTES) return { kind: 'short' };
  const bodyLength = data.readUInt32LE(offset);
  if (bodyLength < FIXED_BODY_BYTES || bodyLength > MAX_BODY_BYTES) return { kind: 'corrupt', reason: 'length' };
  const bodyStart = offset + FRAME_BYTES;
  const end = bodyStart + bodyLength;
  if (end > data.length) return { kind: 'short' };
  const body = data.subarray(bodyStart, end);
  if (crc32(body) !== data.readUInt32LE(offset + 4)) return { kind: 'corrupt', reason: 'crc' };
  if (body.readUInt8(0) !== RECORD_VERSION) return { kind: 'corrupt', reason: 'version' };
  const format = FORMATS[body.readUInt8(1)];
  if (format === undefined) return { kind: 'corrupt', reason: 'format' };
  const relayIdLength = body.readUInt16LE(2);
  if (FIXED_BODY_BYTES + relayIdLength > bodyLength) return { kind: 'corrupt', reason: 'relay_id' };
  const record: WalRecord = {
    format,
    receivedAt: body.readUInt32LE(4),
    nodeNow: body.readUInt32LE(8),
    acceptFrom: body.readUInt32LE(12),
    sequence: body.readDoubleLE(16),
    relayId: body.toString('utf8', FIXED_BODY_BYTES, FIXED_BODY_BYTES + relayIdLength),
    lines: body.subarray(FIXED_BODY_BYTES + relayIdLength),
  };
  return { kind: 'record', record, next: end };
}
