/**
 * MurmurHash3 x86_32 (Austin Appleby, SMHasher), the ring hash. Works on a byte range in place so the relay can
 * hash a key inside a received buffer without copying it or making a string.
 */

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

/** MurmurHash3 x86_32 of `bytes[start, end)` with `seed`, as an unsigned 32-bit integer. Allocates nothing. */
export function murmur3(bytes: Uint8Array, start = 0, end = bytes.length, seed = 0): number {
  const length = end - start;
  const blocksEnd = start + (length & ~3);
  let h1 = seed | 0;
  let i = start;

  for (; i < blocksEnd; i += 4) {
    let k1 = bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24);
    k1 = Math.imul(k1, C1);
    k1 = (k1 << 15) | (k1 >>> 17);
    k1 = Math.imul(k1, C2);
    h1 ^= k1;
    h1 = (h1 << 13) | (h1 >>> 19);
    h1 = (Math.imul(h1, 5) + 0xe6546b64) | 0;
  }

  // The 1..3 trailing bytes, little-endian, as the reference's fall-through switch reads them.
  const tail = length & 3;
  if (tail > 0) {
    let k1 = bytes[i]!;
    if (tail > 1) k1 ^= bytes[i + 1]! << 8;
    if (tail > 2) k1 ^= bytes[i + 2]! << 16;
    k1 = Math.imul(k1, C1);
    k1 = (k1 << 15) | (k1 >>> 17);
    k1 = Math.imul(k1, C2);
    h1 ^= k1;
  }

  // The reference mixes in the length as a 32-bit int.
  h1 ^= length;
  h1 ^= h1 >>> 16;
  h1 = Math.imul(h1, 0x85ebca6b);
  h1 ^= h1 >>> 13;
  h1 = Math.imul(h1, 0xc2b2ae35);
  h1 ^= h1 >>> 16;
  return h1 >>> 0;
}

const encoder = new TextEncoder();
// Reused between calls so hashing a string allocates only when a longer string than any before arrives.
let scratch = new Uint8Array(256);

/** MurmurHash3 x86_32 of the UTF-8 bytes of `text`. */
export function murmur3String(text: string, seed = 0): number {
  // A UTF-16 code unit never takes more than 3 UTF-8 bytes.
  const worst = text.length * 3;
  if (worst > scratch.length) scratch = new Uint8Array(Math.max(worst, scratch.length * 2));
  const { written } = encoder.encodeInto(text, scratch);
  return murmur3(scratch, 0, written, seed);
}

/**
 * murmur3 of `bytes[start, end)` when every byte is ASCII (< 0x80), else -1: one pass both hashes the key and
 * tells whether it is ASCII, so the canonical-key check (key-hash.ts) costs ASCII keys no second scan. A copy of
 * murmur3 with the byte check folded in, rather than a flag on murmur3, so plain murmur3 pays nothing for it.
 */
export function murmur3IfAscii(bytes: Uint8Array, start: number, end: number): number {
  const length = end - start;
  const blocksEnd = start + (length & ~3);
  let h1 = 0;
  let i = start;
  // The OR of every byte read: its high bits say whether any byte was >= 0x80.
  let seen = 0;

  for (; i < blocksEnd; i += 4) {
    let k1 = bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24);
    seen |= k1;
    k1 = Math.imul(k1, C1);
    k1 = (k1 << 15) | (k1 >>> 17);
    k1 = Math.imul(k1, C2);
    h1 ^= k1;
    h1 = (h1 << 13) | (h1 >>> 19);
    h1 = (Math.imul(h1, 5) + 0xe6546b64) | 0;
  }

  const tail = length & 3;
  if (tail > 0) {
    let k1 = bytes[i]!;
    if (tail > 1) k1 ^= bytes[i + 1]! << 8;
    if (tail > 2) k1 ^= bytes[i + 2]! << 16;
    seen |= k1;
    k1 = Math.imul(k1, C1);
    k1 = (k1 << 15) | (k1 >>> 17);
    k1 = Math.imul(k1, C2);
    h1 ^= k1;
  }
  if ((seen & 0x80808080) !== 0) return -1;

  h1 ^= length;
  h1 ^= h1 >>> 16;
  h1 = Math.imul(h1, 0x85ebca6b);
  h1 ^= h1 >>> 13;
  h1 = Math.imul(h1, 0xc2b2ae35);
  h1 ^= h1 >>> 16;
  return h1 >>> 0;
}
