/**
 * An append-only, most-significant-bit-first bit stream over a growable byte buffer. Bits are written in
 * place, so writing never allocates except when the buffer doubles.
 */
export class BitWriter {
  private buffer: Uint8Array;
  /** Index of the byte being filled. */
  private bytePos = 0;
  /** Bits already used in `buffer[bytePos]`, 0..7. */
  private bitPos = 0;

  constructor(initialBytes = 64) {
    this.buffer = new Uint8Array(Math.max(8, initialBytes));
  }

  /** Bits written so far. */
  get bitLength(): number {
    return this.bytePos * 8 + this.bitPos;
  }

  /** Bytes needed to hold every bit written; the last byte is padded with zero bits. */
  get byteLength(): number {
    return this.bitPos === 0 ? this.bytePos : this.bytePos + 1;
  }

  writeBit(bit: number): void {
    this.reserve();
    if (bit !== 0) this.buffer[this.bytePos]! |= 0x80 >>> this.bitPos;
    if (++this.bitPos === 8) {
      this.bytePos++;
      this.bitPos = 0;
    }
  }

  /** Writes the low `count` bits of `value` (0 ≤ count ≤ 32), most significant first; higher bits are ignored. */
  writeBits(value: number, count: number): void {
    this.reserve();
    const buffer = this.buffer;
    let remaining = count;
    while (remaining > 0) {
      const free = 8 - this.bitPos;
      const take = remaining < free ? remaining : free;
      const chunk = (value >>> (remaining - take)) & ((1 << take) - 1);
      buffer[this.bytePos]! |= chunk << (free - take);
      remaining -= take;
      this.bitPos += take;
      if (this.bitPos === 8) {
        this.bytePos++;
        this.bitPos = 0;
      }
    }
  }

  /** Copies the written bytes into `target` at `offset`. */
  copyTo(target: Uint8Array, offset: number): void {
    target.set(this.buffer.subarray(0, this.byteLength), offset);
  }

  /** A copy of the written bytes. */
  toBytes(): Uint8Array {
    return this.buffer.slice(0, this.byteLength);
  }

  /** Makes room for one more 32-bit write (at most 5 bytes touched): the `buffer[bytePos]!` writes are in bounds. */
  private reserve(): void {
    if (this.bytePos + 5 <= this.buffer.length) return;
    const grown = new Uint8Array(this.buffer.length * 2);
    grown.set(this.buffer);
    this.buffer = grown;
  }
}
