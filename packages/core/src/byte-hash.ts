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
