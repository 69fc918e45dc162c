/**
 * The frame of one log record: u32 bodyLength | u32 crc32(body) | body (little-endian). The length and CRC let a
 * reader tell a complete record from a torn tail left by a crash mid-append. What the body holds is the caller's.
 */
import { crc32 } from 'node:zlib';

/** Length and CRC in front of the body. */
export const FRAME_BYTES = 8;
/** A body longer than this is taken for garbage, not allocated. */
export const MAX_BODY_BYTES = 1 << 30;

/**
 * The frame header for a body made of `parts` (written after it in one writev, so the parts are never copied).
 * `header`, when given, is a buffer whose first FRAME_BYTES are reserved for the frame and whose rest is the first
 * part of the body: the caller's fixed fields and the frame then go out as one buffer.
 */
export function frameHeader(header: Buffer, rest: readonly Uint8Array[]): Buffer {
  let length = header.length - FRAME_BYTES;
  let crc = crc32(header.subarray(FRAME_BYTES));
  for (const part of rest) {
    length += part.length;
    crc = crc32(part, crc);
  }
  header.writeUInt32LE(length, 0);
  header.writeUInt32LE(crc, 4);
  return header;
}

export type FrameResult =
  | { kind: 'frame'; body: Buffer; next: number }
  /** Fewer bytes than the frame promises: a torn tail (or the end, when `offset` is the buffer's end). */
  | { kind: 'short' }
  /** Complete frame, wrong CRC or impossible length: damage. */
  | { kind: 'corrupt'; reason: string };

/** The frame at `offset` of `data`; its body is a view into `data`, not a copy. */
export function decodeFrame(data: Buffer, offset: number, minBodyBytes = 0): FrameResult {
  if (data.length - offset < FRAME_BYTES) return { kind: 'short' };
  const bodyLength = data.readUInt32LE(offset);
  if (bodyLength < minBodyBytes || bodyLength > MAX_BODY_BYTES) return { kind: 'corrupt', reason: 'length' };
  const bodyStart = offset + FRAME_BYTES;
  const end = bodyStart + bodyLength;
  if (end > data.length) return { kind: 'short' };
  const body = data.subarray(bodyStart, end);
  if (crc32(body) !== data.readUInt32LE(offset + 4)) return { kind: 'corrupt', reason: 'crc' };
  return { kind: 'frame', body, next: end };
}
