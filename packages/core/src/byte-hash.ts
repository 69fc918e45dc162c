/**
 * FNV-1a over bytes, the hash a parser computes while it reads a key so a table keyed by the key's bytes need
 * not read them twice: start from HASH_SEED, then hashByte() each byte in order. Raw, unmixed: a table that
 * takes slots from its low bits mixes it first.
 */
export const HASH_SEED = 0x811c9dc5 | 0;

export function hashByte(hash: number, byte: number): number {
  return Math.imul(hash ^ byte, 0x01000193);
}

/** FNV-1a of `bytes[start, end)`. */
export function hashBytes(bytes: Uint8Array, start: number, end: number): number {
  let hash = HASH_SEED;
  for (let i = start; i < end; i++) hash = hashByte(hash, bytes[i]!);
  return hash;
}

/**
 * murmur3's 32-bit finalizer: spreads every input bit over the whole hash, so a table that takes its slot from the
 * low bits of an FNV-1a hash (whose low bits mix poorly) or of a pair of ids gets them evenly.
 */
export function mixHash(hash: number): number {
  let h = hash ^ (hash >>> 16);
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}
