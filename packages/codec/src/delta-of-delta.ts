import type { BitReader } from './bit-reader.js';
import type { BitWriter } from './bit-writer.js';

// Delta-of-delta time coding (Gorilla), a prefix code over the zigzag of the difference between this
// delta and the previous one:
//   '0'                  0 (a regular step: one bit)
//   '10'    + 7 bits     zigzag < 2^7
//   '110'   + 9 bits     zigzag < 2^9
//   '1110'  + 12 bits    zigzag < 2^12
//   '11110' + 32 bits    zigzag < 2^32
//   '11111' + 53 bits    anything else (callers keep |value| < 2^52)
// Arithmetic, not bitwise, where values may exceed 32 bits.

const TWO_32 = 2 ** 32;

function zigzag(value: number): number {
  return value >= 0 ? value * 2 : -value * 2 - 1;
}

function unzigzag(encoded: number): number {
  return encoded % 2 === 0 ? encoded / 2 : -(encoded + 1) / 2;
}

export function writeDeltaOfDelta(out: BitWriter, value: number): void {
  if (value === 0) {
    out.writeBit(0);
    return;
  }
  const encoded = zigzag(value);
  if (encoded < 1 << 7) {
    out.writeBits(0b10, 2);
    out.writeBits(encoded, 7);
  } else if (encoded < 1 << 9) {
    out.writeBits(0b110, 3);
    out.writeBits(encoded, 9);
  } else if (encoded < 1 << 12) {
    out.writeBits(0b1110, 4);
    out.writeBits(encoded, 12);
  } else if (encoded < TWO_32) {
    out.writeBits(0b11110, 5);
    out.writeBits(encoded, 32);
  } else {
    out.writeBits(0b11111, 5);
    out.writeBits(Math.floor(encoded / TWO_32), 21);
    out.writeBits(encoded % TWO_32, 32);
  }
}

export function readDeltaOfDelta(input: BitReader): number {
  if (input.readBit() === 0) return 0;
  if (input.readBit() === 0) return unzigzag(input.readBits(7));
  if (input.readBit() === 0) return unzigzag(input.readBits(9));
  if (input.readBit() === 0) return unzigzag(input.readBits(12));
  if (input.readBit() === 0) return unzigzag(input.readBits(32));
  const high = input.readBits(21);
  return unzigzag(high * TWO_32 + input.readBits(32));
}
