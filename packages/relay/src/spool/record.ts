/**
 * The relay spool's records (bodies inside core's log frames), little-endian:
 * - slice: u8 kind=1 | u8 format | f64 ringVersion | f64 receivedAtMs | u16 destinationLength | destination |
 *   lines. The lines of one read that go to one destination under one ring version, newline-terminated.
 * - batch: u8 kind=2 | u8 format | f64 sequence | f64 endRecord | u32 endOffset | u16 destinationLength |
 *   destination. The link closed batch `sequence`; its lines of `format` for the destination end at byte
 *   `endOffset` of slice `endRecord` and begin where the previous batch of that format for it ended.
 * - durable: u8 kind=3 | f64 durable | u16 destinationLength | destination. The destination acked up to it.
 * A destination is `member id@address`, as the link pool keys its links.
 */
import { FRAME_BYTES } from '@carillon/core';
import type { LineFormat } from '@carillon/transport';

export type SpoolRecord =
  | { kind: 'slice'; format: LineFormat; ringVersion: number; receivedAtMs: number; destination: string; lines: Buffer }
  | { kind: 'batch'; format: LineFormat; sequence: number; endRecord: number; endOffset: number; destination: string }
  | { kind: 'durable'; durable: number; destination: string };

const KINDS = { slice: 1, batch: 2, durable: 3 } as const;
const FORMATS: readonly LineFormat[] = ['graphite', 'statsd'];
const formatCode = (format: LineFormat): number => FORMATS.indexOf(format);

/** The frame space and fixed fields of a record (its lines, for a slice, follow in the same writev). */
export function encodeSpoolHeader(record: SpoolRecord): Buffer {
  const destination = Buffer.from(record.destination, 'utf8');
  if (destination.length > 0xffff) throw new RangeError('destination longer than 65535 bytes');
  const fixed = record.kind === 'slice' ? 1 + 1 + 8 + 8 : record.kind === 'batch' ? 1 + 1 + 8 + 8 + 4 : 1 + 8;
  const header = Buffer.allocUnsafe(FRAME_BYTES + fixed + 2 + destination.length);
  let at = header.writeUInt8(KINDS[record.kind], FRAME_BYTES);
  if (record.kind === 'slice') {
    at = header.writeUInt8(formatCode(record.format), at);
    at = header.writeDoubleLE(record.ringVersion, at);
    at = header.writeDoubleLE(record.receivedAtMs, at);
  } else if (record.kind === 'batch') {
    at = header.writeUInt8(formatCode(record.format), at);
    at = header.writeDoubleLE(record.sequence, at);
    at = header.writeDoubleLE(record.endRecord, at);
    at = header.writeUInt32LE(record.endOffset, at);
  } else {
    at = header.writeDoubleLE(record.durable, at);
  }
  at = header.writeUInt16LE(destination.length, at);
  destination.copy(header, at);
  return header;
}

/** The record in a frame's body (a slice's lines are a view into it), or why it is damaged. */
export function decodeSpoolBody(body: Buffer): SpoolRecord | string {
  if (body.length < 1) return 'length';
  const kind = body.readUInt8(0);
  const fixed = kind === 1 ? 18 : kind === 2 ? 22 : kind === 3 ? 9 : -1;
  if (fixed < 0) return 'kind';
  if (body.length < fixed + 2) return 'length';
  const destinationLength = body.readUInt16LE(fixed);
  const linesAt = fixed + 2 + destinationLength;
  if (linesAt > body.length) return 'destination';
  const destination = body.toString('utf8', fixed + 2, linesAt);
  if (kind === 3) return { kind: 'durable', durable: body.readDoubleLE(1), destination };
  const format = FORMATS[body.readUInt8(1)];
  if (format === undefined) return 'format';
  if (kind === 1)
    return {
      kind: 'slice',
      format,
      ringVersion: body.readDoubleLE(2),
      receivedAtMs: body.readDoubleLE(10),
      destination,
      lines: body.subarray(linesAt),
    };
  if (linesAt !== body.length) return 'length';
  return {
    kind: 'batch',
    format,
    sequence: body.readDoubleLE(2),
    endRecord: body.readDoubleLE(10),
    endOffset: body.readUInt32LE(18),
    destination,
  };
}
