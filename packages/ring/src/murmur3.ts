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
  for (; i < blocksEnd; i += 4) h1 = mixBlock(h1, blockAt(bytes, i));
  const tail = length & 3;
  if (tail > 0) h1 ^= scramble(tailAt(bytes, i, tail));
  return finish(h1, length);
}

// The rounds of the reference, as small functions V8 inlines; murmur3 and murmur3IfAscii share them.

/** The 4 bytes at i, little-endian. */
function blockAt(bytes: Uint8Array, i: number): number {
  return bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24);
}

/** The 1..3 trailing bytes, little-endian, as the reference's fall-through switch reads them. */
function tailAt(bytes: Uint8Array, i: number, tail: number): number {
  let k1 = bytes[i]!;
  if (tail > 1) k1 ^= bytes[i + 1]! << 8;
  if (tail > 2) k1 ^= bytes[i + 2]! << 16;
  return k1;
}

function scramble(k1: number): number {
  k1 = Math.imul(k1, C1);
  k1 = (k1 << 15) | (k1 >>> 17);
  return Math.imul(k1, C2);
}

function mixBlock(h1: number, k1: number): number {
  h1 ^= scramble(k1);
  h1 = (h1 << 13) | (h1 >>> 19);
  return (Math.imul(h1, 5) + 0xe6546b64) | 0;
}

/** The reference mixes in the length as a 32-bit int, then avalanches. */
function finish(h1: number, length: number): number {
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
 * tells whether it is ASCII, so the canonical-key check (key-hash.ts) costs ASCII keys no second scan. Its own loop
 * over the shared rounds, rather than a flag on murmur3, so plain murmur3 pays nothing for it.
 */
export function murmur3IfAscii(bytes: Uint8Array, start: number, end: number): number {
  const length = end - start;
  const blocksEnd = start + (length & ~3);
  let h1 = 0;
  let i = start;
  // The OR of every byte read: its high bits say whether any byte was >= 0x80.
  let seen = 0;
  for (; i < blocksEnd; i += 4) {
    const k1 = blockAt(bytes, i);
    seen |= k1;
    h1 = mixBlock(h1, k1);
  }
  const tail = length & 3;
  if (tail > 0) {
    const k1 = tailAt(bytes, i, tail);
    seen |= k1;
    h1 ^= scramble(k1);
  }
  return (seen & 0x80808080) !== 0 ? -1 : finish(h1, length);
}
