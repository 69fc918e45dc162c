/**
 * Series ids for the write pool without a BigInt per byte: FNV-1a 64 computed on two 32-bit halves, bit for bit
 * core's seriesId (the pool hashes every series of every flush, so this is on the hot path). The low half picks
 * the worker, so a series always goes to the same worker and stays ordered.
 */
import { splitCanonical } from '@carillon/core';

const encoder = new TextEncoder();

/** Writes FNV-1a 64 of `text` into `view` at byte `offset`, little-endian, and returns the low 32 bits. */
function fnv1a64Into(text: string, view: DataView, offset: number): number {
  // offset basis 0xcbf29ce484222325, prime 0x100000001b3 = 2^40 + 0x1b3
  let hi = 0xcbf29ce4;
  let lo = 0x84222325;
  for (const byte of encoder.encode(text)) {
    lo = (lo ^ byte) >>> 0;
    // (hi:lo) * (2^40 + 0x1b3) mod 2^64: lo * 0x1b3 < 2^41 is exact in a double; lo * 2^40 lands in hi as lo << 8.
    const product = lo * 0x1b3;
    const newLo = product >>> 0;
    const newHi = (Math.imul(hi, 0x1b3) + Math.floor(product / 0x100000000) + (lo << 8)) >>> 0;
    lo = newLo;
    hi = newHi;
  }
  view.setUint32(offset, lo, true);
  view.setUint32(offset + 4, hi, true);
  return lo;
}

/** The text core's seriesId hashes: `path + ":" + k=v;k=v`. */
export function seriesIdText(name: string): string {
  if (!name.includes(';')) return `${name}:`;
  const { path, tags } = splitCanonical(name);
  return `${path}:${tags.map(([k, v]) => `${k}=${v}`).join(';')}`;
}

/** Ids of `names` into a BigInt64Array (signed, as core's seriesId) and the worker of each. */
export function idsAndShards(names: readonly string[], workers: number): { ids: BigInt64Array; shards: Uint16Array } {
  const ids = new BigInt64Array(names.length);
  const view = new DataView(ids.buffer);
  const shards = new Uint16Array(names.length);
  for (let i = 0; i < names.length; i++) shards[i] = fnv1a64Into(seriesIdText(names[i]!), view, i * 8) % workers;
  return { ids, shards };
}
