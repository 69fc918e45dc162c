import type { BitReader } from './bit-reader.js';
import type { BitWriter } from './bit-writer.js';
import { ChunkFormatError } from './errors.js';
import { floatFromWords, highWord, lowWordOfLast } from './float-bits.js';

// Gorilla XOR coding of float64 columns: each value is XORed with the previous value of its column.
//   '0'                                    same bits as before
//   '10' + meaningful bits                 fits the column's current window of leading/trailing zeros
//   '11' + 5-bit leading + 6-bit (length-1) + meaningful bits   opens a new window
// Leading zeros are capped at 31 to fit 5 bits. Every column starts from 0.0 with a full 64-bit window.

/** Cost in bits of a new window's header beyond the '1x' control bits. */
const WINDOW_HEADER_BITS = 11;

function trailingZeros(word: number): number {
  return 31 - Math.clz32(word & -word);
}

export class XorColumnsEncoder {
  private readonly prevHigh: Int32Array;
  private readonly prevLow: Int32Array;
  private readonly leading: Uint8Array;
  private readonly trailing: Uint8Array;

  constructor(columns: number) {
    this.prevHigh = new Int32Array(columns);
    this.prevLow = new Int32Array(columns);
    this.leading = new Uint8Array(columns);
    this.trailing = new Uint8Array(columns);
  }

  encode(out: BitWriter, column: number, value: number): void {
    const high = highWord(value) | 0;
    const low = lowWordOfLast() | 0;
    const xorHigh = high ^ this.prevHigh[column];
    const xorLow = low ^ this.prevLow[column];
    this.prevHigh[column] = high;
    this.prevLow[column] = low;
    if ((xorHigh | xorLow) === 0) {
      out.writeBit(0);
      return;
    }
    let lead = xorHigh !== 0 ? Math.clz32(xorHigh) : 32 + Math.clz32(xorLow);
    if (lead > 31) lead = 31;
    const trail = xorLow !== 0 ? trailingZeros(xorLow) : 32 + trailingZeros(xorHigh);
    const prevLead = this.leading[column];
    const prevTrail = this.trailing[column];
    const length = 64 - lead - trail;
    const windowLength = 64 - prevLead - prevTrail;
    // Reuse the window only when it is cheaper now; the decoder just follows the control bits.
    if (lead >= prevLead && trail >= prevTrail && windowLength <= length + WINDOW_HEADER_BITS) {
      out.writeBits(0b10, 2);
      writeMeaningful(out, xorHigh, xorLow, prevTrail, windowLength);
    } else {
      out.writeBits(0b11, 2);
      out.writeBits(lead, 5);
      out.writeBits(length - 1, 6);
      writeMeaningful(out, xorHigh, xorLow, trail, length);
      this.leading[column] = lead;
      this.trailing[column] = trail;
    }
  }

  /** Sets a column's previous value without writing anything (the decoder must do the same). */
  assume(column: number, value: number): void {
    this.prevHigh[column] = highWord(value) | 0;
    this.prevLow[column] = lowWordOfLast() | 0;
  }
}

/** Writes bits [trail, trail + length) of the 64-bit word `high:low`. */
function writeMeaningful(out: BitWriter, high: number, low: number, trail: number, length: number): void {
  if (trail >= 32) {
    out.writeBits(high >>> (trail - 32), length);
    return;
  }
  const shiftedLow = trail === 0 ? low : (low >>> trail) | (high << (32 - trail));
  if (length > 32) {
    out.writeBits(high >>> trail, length - 32);
    out.writeBits(shiftedLow, 32);
  } else {
    out.writeBits(shiftedLow, length);
  }
}

export class XorColumnsDecoder {
  private readonly prevHigh: Int32Array;
  private readonly prevLow: Int32Array;
  private readonly leading: Uint8Array;
  private readonly trailing: Uint8Array;

  constructor(columns: number) {
    this.prevHigh = new Int32Array(columns);
    this.prevLow = new Int32Array(columns);
    this.leading = new Uint8Array(columns);
    this.trailing = new Uint8Array(columns);
  }

  decode(input: BitReader, column: number): number {
    if (input.readBit() === 1) {
      let trail: number;
      let length: number;
      if (input.readBit() === 0) {
        trail = this.trailing[column];
        length = 64 - this.leading[column] - trail;
      } else {
        const lead = input.readBits(5);
        length = input.readBits(6) + 1;
        trail = 64 - lead - length;
        if (trail < 0) throw new ChunkFormatError(`corrupt float window (leading ${lead}, length ${length})`);
        this.leading[column] = lead;
        this.trailing[column] = trail;
      }
      let meaningfulHigh = 0;
      let meaningfulLow: number;
      if (length > 32) {
        meaningfulHigh = input.readBits(length - 32);
        meaningfulLow = input.readBits(32);
      } else {
        meaningfulLow = input.readBits(length);
      }
      let xorHigh: number;
      let xorLow: number;
      if (trail >= 32) {
        xorHigh = meaningfulLow << (trail - 32);
        xorLow = 0;
      } else if (trail === 0) {
        xorHigh = meaningfulHigh;
        xorLow = meaningfulLow;
      } else {
        xorHigh = (meaningfulHigh << trail) | (meaningfulLow >>> (32 - trail));
        xorLow = meaningfulLow << trail;
      }
      this.prevHigh[column] ^= xorHigh;
      this.prevLow[column] ^= xorLow;
    }
    return floatFromWords(this.prevHigh[column], this.prevLow[column]);
  }

  /** Mirrors `XorColumnsEncoder.assume`. */
  assume(column: number, value: number): void {
    this.prevHigh[column] = highWord(value) | 0;
    this.prevLow[column] = lowWordOfLast() | 0;
  }
}
