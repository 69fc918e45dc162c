/**
 * The one definition of the bytes a metric key is hashed by, for every placement question (relay routing,
 * accumulator ownership, a query front finding a series' owner).
 *
 * Canonical form: the UTF-8 encoding of the key as decoded by the WHATWG UTF-8 decoder with replacement
 * (`Buffer#toString('utf8')`, `TextDecoder`): every invalid sequence (lone continuation byte, truncated
 * sequence, overlong form, UTF-16 surrogate encoded in UTF-8, 0xF5..0xFF) becomes U+FFFD. That is the name the
 * accumulator parses, aggregates and stores, so what is stored is what was hashed, and a relay hashing bytes
 * and an accumulator hashing the decoded string name the same owner.
 *
 * Valid UTF-8 (ASCII above all) is its own canonical form and is hashed in place; only a key with a byte
 * >= 0x80 is validated, and only an invalid one is decoded and re-encoded.
 */
import { isUtf8 } from 'node:buffer';
import { murmur3, murmur3IfAscii, murmur3String } from './murmur3.js';

const decoder = new TextDecoder();

/** MurmurHash3 of the canonical form of the key bytes `bytes[start, end)`. One pass and no allocation for ASCII. */
export function keyHash(bytes: Uint8Array, start: number, end: number): number {
  const ascii = murmur3IfAscii(bytes, start, end);
  if (ascii >= 0) return ascii;
  const key = bytes.subarray(start, end);
  return isUtf8(key) ? murmur3(bytes, start, end) : murmur3String(decoder.decode(key));
}

/**
 * MurmurHash3 of the canonical form of a decoded key: its UTF-8. A JS string can hold a lone surrogate, which
 * no decoder produces; `TextEncoder` writes it as U+FFFD, the same as the relay's bytes would have decoded to.
 */
export function keyHashOfName(name: string): number {
  return murmur3String(name);
}
