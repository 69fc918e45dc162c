/**
 * Decimal number fields as Python's float() (what carbon uses) reads them: optional sign, digits with an
 * optional fraction, an optional exponent, or `nan` / `inf` / `infinity` in any case. Hex, underscores and
 * surrounding spaces are not numbers here.
 */

// Exact powers of ten: mantissa / 10^k is correctly rounded while both are exact doubles (Clinger's fast path).
const POW10: readonly number[] = Array.from({ length: 23 }, (_, k) => Number(`1e${k}`));
const MAX_FAST_DIGITS = 15;

/**
 * Parses `text[start, end)`. Returns undefined when it is not a number; NaN for `nan`; ±Infinity for `inf`
 * (and for overflow such as 1e400). Callers decide what to do with the special values.
 */
export function parseDecimal(text: string, start: number, end: number): number | undefined {
  let i = start;
  if (i >= end) return undefined;
  let negative = false;
  let c = text.charCodeAt(i);
  if (c === 0x2b /* + */ || c === 0x2d /* - */) {
    negative = c === 0x2d;
    if (++i >= end) return undefined;
    c = text.charCodeAt(i);
  }
  if ((c | 0x20) === 0x6e /* n */ || (c | 0x20) === 0x69 /* i */) return parseSpecial(text, i, end, negative);

  let mantissa = 0;
  let digits = 0;
  let fractionDigits = 0;
  let sawDot = false;
  for (; i < end; i++) {
    c = text.charCodeAt(i);
    if (c >= 0x30 && c <= 0x39) {
      mantissa = mantissa * 10 + (c - 0x30);
      digits++;
      if (sawDot) fractionDigits++;
    } else if (c === 0x2e /* . */ && !sawDot) {
      sawDot = true;
    } else break;
  }
  if (digits === 0) return undefined;
  if (i === end) {
    if (digits <= MAX_FAST_DIGITS) {
      const value = fractionDigits === 0 ? mantissa : mantissa / POW10[fractionDigits]!;
      return negative ? -value : value;
    }
    return Number(text.slice(start, end));
  }
  // Only an exponent may follow the mantissa.
  if ((c | 0x20) !== 0x65 /* e */) return undefined;
  if (++i < end && (text.charCodeAt(i) === 0x2b || text.charCodeAt(i) === 0x2d)) i++;
  if (i >= end) return undefined;
  for (; i < end; i++) {
    c = text.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return undefined;
  }
  return Number(text.slice(start, end));
}

function parseSpecial(text: string, start: number, end: number, negative: boolean): number | undefined {
  const word = text.slice(start, end).toLowerCase();
  if (word === 'nan') return NaN;
  if (word === 'inf' || word === 'infinity') return negative ? -Infinity : Infinity;
  return undefined;
}

/**
 * The common number of a field as bytes, `[+-]digits[.digits]` with at most 15 digits, exactly as parseDecimal
 * reads it; undefined for anything else (an exponent, `nan`, more digits, not a number), which the caller hands
 * to parseDecimal as text.
 */
export function parsePlainDecimalBytes(buf: Uint8Array, start: number, end: number): number | undefined {
  let i = start;
  const sign = buf[i];
  if (sign === 0x2d /* - */ || sign === 0x2b /* + */) i++;
  let mantissa = 0;
  let c = 0;
  const integerStart = i;
  for (; i < end && (c = buf[i]!) >= 0x30 && c <= 0x39; i++) mantissa = mantissa * 10 + (c - 0x30);
  let digits = i - integerStart;
  let fractionDigits = 0;
  if (i < end && buf[i] === 0x2e /* . */) {
    const fractionStart = ++i;
    for (; i < end && (c = buf[i]!) >= 0x30 && c <= 0x39; i++) mantissa = mantissa * 10 + (c - 0x30);
    fractionDigits = i - fractionStart;
    digits += fractionDigits;
  }
  if (i !== end || digits === 0 || digits > MAX_FAST_DIGITS) return undefined;
  const value = fractionDigits === 0 ? mantissa : mantissa / POW10[fractionDigits]!;
  return sign === 0x2d ? -value : value;
}
