/**
 * Strings for recurring ASCII byte ranges (StatsD keys and set members): the same string object for the same
 * bytes, found again by a hash of the bytes. A hot line then decodes nothing, and the Maps keyed by these strings
 * find them by V8's cached hash and by identity instead of hashing and comparing a fresh string each time.
 *
 * A fixed-size cache, not a registry: a range that misses (new, or its slots taken) just gets a new string and
 * may take a slot over. So the cache holds at most `slots` strings of at most `maxLength` bytes, whatever the
 * input's cardinality, and nothing is ever refused or lost by it.
 */

import { HASH_SEED, hashByte } from '@carillon/core';

/** Slots probed from a range's home slot before one is taken over. */
const PROBES = 4;

/** FNV-1a (core's byte-hash), the hash intern() wants: start from HASH_SEED, then hashByte() each byte in order. */
export { HASH_SEED, hashByte };

export class AsciiInterner {
  private readonly mask: number;
  /**
   * Per slot, side by side (one cache line for both): the hash and the length of the string held (length 0:
   * empty), checked before the string itself is read.
   */
  private readonly hashAndLength: Int32Array;
  private readonly strings: string[];
  /** Round-robin over the probed slots when all are taken, so no one slot is evicted every time. */
  private evictNext = 0;

  /**
   * @param slotsLog2 log2 of the number of slots.
   * @param maxLength longest range it holds; a longer one gets a new string every time.
   */
  constructor(
    slotsLog2: number,
    readonly maxLength: number,
  ) {
    const slots = 1 << slotsLog2;
    this.mask = slots - 1;
    this.hashAndLength = new Int32Array(2 * slots);
    this.strings = new Array<string>(slots).fill('');
  }

  /**
   * The string of `buf[start, end)`, which must be ASCII (every byte below 0x80). `hash` is its hash (HASH_SEED,
   * hashByte), when the caller computed it already while reading the bytes.
   */
  intern(buf: Uint8Array, start: number, end: number, hash = hashBytes(buf, start, end)): string {
    const length = end - start;
    if (length > this.maxLength || length === 0) return latin1(buf, start, end);
    let free = -1;
    for (let probe = 0; probe < PROBES; probe++) {
      const slot = (hash + probe) & this.mask;
      const held = this.hashAndLength[2 * slot + 1];
      if (held === 0) {
        if (free < 0) free = slot;
      } else if (held === length && this.hashAndLength[2 * slot] === hash) {
        const text = this.strings[slot]!;
        if (sameBytes(text, buf, start)) return text;
      }
    }
    const slot = free >= 0 ? free : (hash + (this.evictNext++ % PROBES)) & this.mask;
    const text = latin1(buf, start, end);
    this.strings[slot] = text;
    this.hashAndLength[2 * slot] = hash;
    this.hashAndLength[2 * slot + 1] = length;
    return text;
  }
}

function hashBytes(buf: Uint8Array, start: number, end: number): number {
  let hash = HASH_SEED;
  for (let i = start; i < end; i++) hash = hashByte(hash, buf[i]!);
  return hash;
}

function sameBytes(text: string, buf: Uint8Array, start: number): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) !== buf[start + i]) return false;
  return true;
}

/** ASCII bytes as a string (what UTF-8 decoding gives for them). */
function latin1(buf: Uint8Array, start: number, end: number): string {
  return Buffer.from(buf.buffer, buf.byteOffset + start, end - start).toString('latin1');
}
