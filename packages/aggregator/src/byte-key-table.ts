/**
 * Keys numbered 0, 1, 2, ... in order of arrival, found by their bytes: an open-addressing table (linear
 * probing) over a byte arena. One StatsD flush interval keeps one per metric type, so a sample finds its key's
 * slot in the interval's flat arrays from the line's bytes, without a string or a Map probe, and the table dies
 * with its interval (nothing is ever removed).
 *
 * Keys given as strings (samples parsed the slow way) are found by string in a Map, and meet the same number
 * as the same key read from bytes: a string new to the table is looked for among the byte keys (encoded as
 * UTF-8) only when there are any, and a byte key not in the slots among the string-only ones (decoded) only
 * when there are any. Memory grows with the keys of one interval, as a Map of them would.
 */
import { HASH_SEED, hashByte, hashBytes, mixHash } from '@carillon/core';

/** Record fields per key: arena offset, byte length. */
const RECORD = 2;
/** Int32 fields per slot. */
const SLOT = 4;

export class ByteKeyTable {
  /**
   * Per slot, side by side (16 bytes, so one cache line holds what a probe reads): the mixed hash, key
   * number + 1 (0: empty), and the key's arena offset and byte length.
   */
  private slots: Int32Array;
  private mask: number;
  private records: Int32Array;
  private arena: Uint8Array;
  private arenaUsed = 0;
  private count = 0;
  /** Key strings: the caller's for string keys, else decoded once when first asked. */
  private names: (string | undefined)[] = [];
  /**
   * Keys added as strings, by string: samples that arrive as strings (relay batches, packed or tagged lines)
   * mostly reuse the same string objects, which a Map finds by their cached hash without encoding them.
   */
  private byName: Map<string, number> | undefined;
  /**
   * Keys numbered from a string and not (yet) in the slots: a string key new to the table is only put in
   * byName, not encoded and copied into the arena, so a key's first string sample costs what a Map's did. A
   * key missed by its bytes is then looked up by its text in byName before it is numbered anew, and moves
   * into the slots; while this is 0 (no string keys, or all of them seen by their bytes too) that costs nothing.
   */
  private stringOnly = 0;
  /** Key bytes missed in the slots, as text for byName (fatal: invalid UTF-8 is no string's encoding). */
  private readonly strictDecoder = new TextDecoder('utf-8', { fatal: true });
  /** String keys are encoded here, and their hash kept. */
  private scratch = new Uint8Array(256);
  private scratchHash = 0;
  private readonly decoder = new TextDecoder();

  /** @param expected keys it should hold without growing (say, the previous interval's count). */
  constructor(expected = 0) {
    let slots = 64;
    while (3 * slots < 4 * expected) slots *= 2;
    this.slots = new Int32Array(SLOT * slots);
    this.mask = slots - 1;
    this.records = new Int32Array(RECORD * (slots >> 1));
    this.arena = new Uint8Array(16 * (slots >> 1));
  }

  /** Keys held. */
  get size(): number {
    return this.count;
  }

  /**
   * The number of key `bytes[start, end)`, or -1. `hash` is FNV-1a of the bytes (core's HASH_SEED,
   * hashByte), which a parser computes as it reads them.
   */
  find(bytes: Uint8Array, start: number, end: number, hash: number): number {
    const key = this.findInSlots(bytes, start, end, hash);
    return key >= 0 || this.stringOnly === 0 ? key : this.stringOnlyKey(bytes, start, end);
  }

  /** find() among the keys in the slots. */
  private findInSlots(bytes: Uint8Array, start: number, end: number, hash: number): number {
    const mixed = mixHash(hash);
    const length = end - start;
    const slots = this.slots;
    const arena = this.arena;
    for (let slot = mixed & this.mask; ; slot = (slot + 1) & this.mask) {
      const at = SLOT * slot;
      const entry = slots[at + 1]!;
      if (entry === 0) return -1;
      if (slots[at] !== mixed || slots[at + 3] !== length) continue;
      // The bytes compared here, not in a call: this loop is most of a sample's cost.
      const shift = slots[at + 2]! - start;
      let i = start;
      while (i < end && arena[shift + i] === bytes[i]) i++;
      if (i === end) return entry - 1;
    }
  }

  /** The number of the key (as find), numbered next if it is new: then `size` grew by one. */
  add(bytes: Uint8Array, start: number, end: number, hash: number): number {
    const mixed = mixHash(hash);
    const length = end - start;
    const slots = this.slots;
    const arena = this.arena;
    let slot = mixed & this.mask;
    for (; ; slot = (slot + 1) & this.mask) {
      const at = SLOT * slot;
      const entry = slots[at + 1]!;
      if (entry === 0) break;
      if (slots[at] !== mixed || slots[at + 3] !== length) continue;
      // The bytes compared here, not in a call: this loop is most of a sample's cost.
      const shift = slots[at + 2]! - start;
      let i = start;
      while (i < end && arena[shift + i] === bytes[i]) i++;
      if (i === end) return entry - 1;
    }
    let key = this.stringOnly === 0 ? -1 : this.stringOnlyKey(bytes, start, end);
    if (key >= 0) this.stringOnly--;
    else key = this.count++;
    this.insert(slot, mixed, bytes, start, length, key);
    return key;
  }

  /** The number of a key held only by its string (stringOnly) whose UTF-8 is `bytes[start, end)`, or -1. */
  private stringOnlyKey(bytes: Uint8Array, start: number, end: number): number {
    let text: string;
    try {
      text = this.strictDecoder.decode(bytes.subarray(start, end));
    } catch {
      return -1;
    }
    return this.byName?.get(text) ?? -1;
  }

  /** find() of a key given as a string. */
  findName(name: string): number {
    const known = this.byName?.get(name);
    if (known !== undefined) return known;
    return this.findNameInSlots(name);
  }

  /** add() of a key given as a string, which nameOf() then returns. */
  addName(name: string): number {
    const known = this.byName?.get(name);
    if (known !== undefined) return known;
    let key = this.findNameInSlots(name);
    if (key < 0) {
      key = this.count++;
      this.stringOnly++;
    }
    this.names[key] = name;
    (this.byName ??= new Map()).set(name, key);
    return key;
  }

  /** The number of the key `name` among the keys in the slots (none: not even encoded), or -1. */
  private findNameInSlots(name: string): number {
    if (this.count === this.stringOnly) return -1;
    const length = this.encode(name);
    return this.findInSlots(this.scratch, 0, length, this.scratchHash);
  }

  /** The key numbered `key` as a string (its bytes as UTF-8). */
  nameOf(key: number): string {
    let name = this.names[key];
    if (name === undefined) {
      const offset = this.records[RECORD * key]!;
      name = this.decoder.decode(this.arena.subarray(offset, offset + this.records[RECORD * key + 1]!));
      this.names[key] = name;
    }
    return name;
  }

  /** Puts key number `key` (already counted), `bytes[start, start + length)`, in the empty slot `slot`. */
  private insert(slot: number, mixed: number, bytes: Uint8Array, start: number, length: number, key: number): void {
    if (this.arenaUsed + length > this.arena.length) {
      const arena = new Uint8Array(Math.max(2 * this.arena.length, this.arenaUsed + length));
      arena.set(this.arena.subarray(0, this.arenaUsed));
      this.arena = arena;
    }
    // A loop, not set(subarray()): no view allocated per key.
    const arena = this.arena;
    const shift = this.arenaUsed - start;
    for (let i = start; i < start + length; i++) arena[shift + i] = bytes[i]!;
    // Keys numbered from strings have no record until they move into the slots, so numbers may skip ahead.
    if (RECORD * key >= this.records.length) {
      const records = new Int32Array(Math.max(2 * this.records.length, RECORD * (key + 1)));
      records.set(this.records);
      this.records = records;
    }
    const at = RECORD * key;
    this.records[at] = this.arenaUsed;
    this.records[at + 1] = length;
    const entry = SLOT * slot;
    this.slots[entry] = mixed;
    this.slots[entry + 1] = key + 1;
    this.slots[entry + 2] = this.arenaUsed;
    this.slots[entry + 3] = length;
    this.arenaUsed += length;
    // At most three quarters full: probes stay short, and the slots small enough to stay in cache.
    if (4 * (this.count - this.stringOnly) > 3 * (this.mask + 1)) this.grow();
  }

  private grow(): void {
    const old = this.slots;
    const size = 2 * (this.mask + 1);
    const slots = new Int32Array(SLOT * size);
    const mask = size - 1;
    for (let i = 0; i < old.length; i += SLOT) {
      if (old[i + 1] === 0) continue;
      let slot = old[i]! & mask;
      while (slots[SLOT * slot + 1] !== 0) slot = (slot + 1) & mask;
      slots.set(old.subarray(i, i + SLOT), SLOT * slot);
    }
    this.slots = slots;
    this.mask = mask;
  }

  /** `name` as UTF-8 in scratch, its hash in scratchHash; returns its length. */
  private encode(name: string): number {
    if (this.scratch.length < 3 * name.length) this.scratch = new Uint8Array(3 * name.length);
    const scratch = this.scratch;
    const length = name.length;
    let hash = HASH_SEED;
    // ASCII, nearly every key and member, by a loop: TextEncoder's native call costs more than a short key.
    for (let i = 0; i < length; i++) {
      const c = name.charCodeAt(i);
      if (c >= 0x80) {
        const written = encoder.encodeInto(name, scratch).written;
        this.scratchHash = hashBytes(scratch, 0, written);
        return written;
      }
      scratch[i] = c;
      hash = hashByte(hash, c);
    }
    this.scratchHash = hash;
    return length;
  }
}

const encoder = new TextEncoder();
