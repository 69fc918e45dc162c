// A float64 seen as two 32-bit halves, so 64-bit XOR work stays in fast int32 arithmetic (no BigInt).
// Going through a Float64Array keeps every bit, including NaN payloads. Both scratch arrays have fixed lengths
// (1 and 2), so their reads below are in bounds.
const scratchFloat = new Float64Array(1);
const scratchWords = new Uint32Array(scratchFloat.buffer);
const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const HI = littleEndian ? 1 : 0;
const LO = littleEndian ? 0 : 1;

/** The high 32 bits (sign, exponent, top of the mantissa) of `value`'s float64 bits. */
export function highWord(value: number): number {
  scratchFloat[0] = value;
  return scratchWords[HI]!;
}

/** The low 32 bits of the value last passed to `highWord`; call right after it. */
export function lowWordOfLast(): number {
  return scratchWords[LO]!;
}

/** The float64 whose bits are `high:low`. */
export function floatFromWords(high: number, low: number): number {
  scratchWords[HI] = high;
  scratchWords[LO] = low;
  return scratchFloat[0]!;
}

/** True when `a` and `b` have identical float64 bits (unlike `===`, tells -0 from 0 and NaN payloads apart). */
export function sameBits(a: number, b: number): boolean {
  if (a === b) return a !== 0 || 1 / a === 1 / b;
  if (a === a || b === b) return false; // not both NaN
  const aHigh = highWord(a);
  const aLow = lowWordOfLast();
  return highWord(b) === aHigh && lowWordOfLast() === aLow;
}
