import { ChunkFormatError } from './errors.js';

/**
 * Reads a most-significant-bit-first bit stream written by `BitWriter`. Reading past the end throws. Each byte
 * read (`!`) lies before `end`, checked just before it (hot path: no second check).
 */
export class BitReader {
  private bytePos: number;
  private bitPos = 0;
  private readonly end: number;

  /** Reads `bytes[start..end)`. */
  constructor(
    private readonly bytes: Uint8Array,
    start = 0,
    end = bytes.length,
  ) {
    this.bytePos = start;
    this.end = end;
  }

  /** Bits left before the end. */
  get bitsRemaining(): number {
    return (this.end - this.bytePos) * 8 - this.bitPos;
  }

  readBit(): number {
    if (this.bytePos >= this.end) throw new ChunkFormatError('truncated');
    const bit = (this.bytes[this.bytePos]! >>> (7 - this.bitPos)) & 1;
    if (++this.bitPos === 8) {
      this.bytePos++;
      this.bitPos = 0;
    }
    return bit;
  }

  /** Reads `count` bits (0 ≤ count ≤ 32) as an unsigned integer. */
  readBits(count: number): number {
    if (count > this.bitsRemaining) throw new ChunkFormatError('truncated');
    const bytes = this.bytes;
    let result = 0;
    let remaining = count;
    while (remaining > 0) {
      const available = 8 - this.bitPos;
      const take = remaining < available ? remaining : available;
      const chunk = (bytes[this.bytePos]! >>> (available - take)) & ((1 << take) - 1);
      result = (result << take) | chunk;
      remaining -= take;
      this.bitPos += take;
      if (this.bitPos === 8) {
        this.bytePos++;
        this.bitPos = 0;
      }
    }
    return result >>> 0;
  }

  /** True when only zero padding bits (fewer than 8) are left. */
  atPaddedEnd(): boolean {
    if (this.bitPos === 0) return this.bytePos === this.end;
    if (this.bytePos !== this.end - 1) return false;
    return (this.bytes[this.bytePos]! & (0xff >>> this.bitPos)) === 0;
  }
}
