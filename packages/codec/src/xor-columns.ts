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

/** The per-column state an encoder and its decoder both keep, in the same layout. */
abstract class XorColumnState {
  // One typed array for all state (previous high and low words, window leading and trailing zeros per
  // column): an accumulator keeps an open encoder per series, so per-object overhead matters. Callers pass
  // `column < columns`, so every `state[...]!` read is in bounds (hot path: no check).
  protected readonly state: Int32Array;
  protected readonly low: number;
  protected readonly leading: number;
  protected readonly trailing: number;

  constructor(columns: number) {
    this.state = new Int32Array(columns * 4);
    this.low = columns;
    this.leading = columns * 2;
    this.trailing = columns * 3;
  }
}

export class XorColumnsEncoder extends XorColumnState {
  encode(out: BitWriter, column: number, value: number): void {
    const state = this.state;
    const high = highWord(value) | 0;
    const low = lowWordOfLast() | 0;
    const xorHigh = high ^ state[column]!;
    const xorLow = low ^ state[this.low + column]!;
    state[column] = high;
    state[this.low + column] = low;
    if ((xorHigh | xorLow) === 0) {
      out.writeBit(0);
      return;
    }
    let lead = xorHigh !== 0 ? Math.clz32(xorHigh) : 32 + Math.clz32(xorLow);
    if (lead > 31) lead = 31;
    const trail = xorLow !== 0 ? trailingZeros(xorLow) : 32 + trailingZeros(xorHigh);
    const prevLead = state[this.leading + column]!;
    const prevTrail = state[this.trailing + column]!;
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
      state[this.leading + column] = lead;
      state[this.trailing + column] = trail;
    }
  }

  /** Sets a column's previous value without writing anything (the decoder must do the same). */
  assume(column: number, value: number): void {
    const state = this.state;
    state[column] = highWord(value) | 0;
    state[this.low + column] = lowWordOfLast() | 0;
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

export class XorColumnsDecoder extends XorColumnState {
  decode(input: BitReader, column: number): number {
    const state = this.state;
    if (input.readBit() === 1) {
      let trail: number;
      let length: number;
      if (input.readBit() === 0) {
        trail = state[this.trailing + column]!;
        length = 64 - state[this.leading + column]! - trail;
      } else {
        const lead = input.readBits(5);
        length = input.readBits(6) + 1;
        trail = 64 - lead - length;
        if (trail < 0) throw new ChunkFormatError(`corrupt float window (leading ${lead}, length ${length})`);
        state[this.leading + column] = lead;
        state[this.trailing + column] = trail;
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
      state[column]! ^= xorHigh;
      state[this.low + column]! ^= xorLow;
    }
    return floatFromWords(state[column]!, state[this.low + column]!);
  }

  /** Mirrors `XorColumnsEncoder.assume`. */
  assume(column: number, value: number): void {
    const state = this.state;
    state[column] = highWord(value) | 0;
    state[this.low + column] = lowWordOfLast() | 0;
  }
}
