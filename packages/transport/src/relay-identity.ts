/**
 * Who a relay is, and the proof that a stream speaks for it. A relay chooses a random 32-byte key at start (its
 * epoch); its id is `host/pid/<first 16 bytes of sha256(key), hex>`. The id is public (the relay's /ring page,
 * logs); the key is sent only on its own streams, as gRPC metadata. The accumulator keys its dedupe state by the
 * id and accepts a stream for an id only with a key that hashes to it, so nobody who saw the id can send batches
 * under it (and push its sequence up to 2^64-1, making the real relay's later batches look like replays), and a
 * restarted relay (a new key, so a new id) starts a fresh sequence space. A relay that persists its identity
 * (a disk spool replaying batches after a restart) keeps both id and key, so the accumulator still dedupes the
 * batches it had already processed.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { hostname } from 'node:os';

export interface RelayIdentity {
  readonly id: string;
  /** The secret half: never logged, never shown. */
  readonly key: Buffer;
}

export const RELAY_KEY_BYTES = 32;
const FINGERPRINT_BYTES = 16;

function fingerprint(key: Buffer): Buffer {
  return createHash('sha256').update(key).digest().subarray(0, FINGERPRINT_BYTES);
}

/** The identity a key gives on this host and process (or those given: a spool restoring an earlier epoch). */
export function relayIdentityFromKey(key: Buffer, host = hostname(), pid = process.pid): RelayIdentity {
  if (key.length !== RELAY_KEY_BYTES)
    throw new RangeError(`a relay key is ${RELAY_KEY_BYTES} bytes, got ${key.length}`);
  return { id: `${host}/${pid}/${fingerprint(key).toString('hex')}`, key: Buffer.from(key) };
}

/** A fresh epoch: unique per process start. */
export function newRelayIdentity(): RelayIdentity {
  return relayIdentityFromKey(randomBytes(RELAY_KEY_BYTES));
}

/** Whether `key` is the secret of `relayId` (the id ends in the key's fingerprint). Constant time in the key. */
export function verifyRelayKey(relayId: string, key: Buffer | undefined): boolean {
  if (key === undefined || key.length !== RELAY_KEY_BYTES) return false;
  const slash = relayId.lastIndexOf('/');
  if (slash < 0) return false;
  const claimed = Buffer.from(relayId.slice(slash + 1), 'hex');
  if (claimed.length !== FINGERPRINT_BYTES || claimed.toString('hex') !== relayId.slice(slash + 1).toLowerCase())
    return false;
  return timingSafeEqual(claimed, fingerprint(key));
}
