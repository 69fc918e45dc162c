import type { Tag } from './key.js';

const FNV64_OFFSET = 0xcbf29ce484222325n;
const FNV64_PRIME = 0x100000001b3n;
const MASK64 = 0xffffffffffffffffn;
const encoder = new TextEncoder();

/** FNV-1a 64 over the UTF-8 bytes of `text`, as an unsigned 64-bit bigint. */
export function fnv1a64(text: string): bigint {
  let hash = FNV64_OFFSET;
  for (const byte of encoder.encode(text)) {
    hash ^= BigInt(byte);
    hash = (hash * FNV64_PRIME) & MASK64;
  }
  return hash;
}

/**
 * The series id: FNV-1a 64 of `path + ":" + sorted tags` (tags as `k=v` joined by `;`). It is the Cassandra
 * partition key and the id in Kafka messages. Returned signed, as Cassandra's bigint is.
 */
export function seriesId(path: string, tags: readonly Tag[]): bigint {
  let text = `${path}:`;
  tags.forEach(([name, value], i) => {
    text += `${i === 0 ? '' : ';'}${name}=${value}`;
  });
  return BigInt.asIntN(64, fnv1a64(text));
}
