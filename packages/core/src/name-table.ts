/**
 * Names interned as UTF-8 in a byte arena, each under a small dense integer id, found through an open-addressing
 * hash table of ids (linear probing, backward-shift deletion: no tombstones). A name costs its bytes and a few
 * typed-array slots instead of a JS string and a Map entry; it is made a string again only when asked (`nameOf`).
 * The arena is a list of chunks of at most CHUNK bytes, so growing it copies nothing and wastes at most the
 * unused end of its last chunk. Ids of removed names are reused; the arena is compacted when half of it is dead.
 * A name's length is kept in one byte (the column widens the first time a name is longer), since a registry of a
 * million series holds a million of them.
 */
import { HASH_SEED, hashByte, hashBytes, mixHash } from './byte-hash.js';

export class NameTable {
  private chunks: Buffer[] = [Buffer.allocUnsafe(FIRST_CHUNK)];
  /** Bytes used in the last chunk. */
  private tail = 0;
  /** Arena bytes of live names. */
  private liveBytes = 0;
  /** Arena bytes of removed names, reclaimed by compaction. */
  private dead = 0;
  /** Id → arena offset (chunk index × CHUNK + position); DEAD for an id not in use. */
  private offsets = new Uint32Array(256).fill(DEAD);
  /** Id → byte length, in Uint8 until a name is longer than 255 bytes, then in the narrowest column it fits. */
  private lengths: LengthColumn = new Uint8Array(256);
  /** The longest name `lengths` holds. */
  private maxLength = 0xff;
  /**
   * Id → hash of its bytes: cheap rejection while probing, and no rehash when the table grows or a removal moves
   * entries (8 bits of it would do for probing, but hashing the bytes again made a removal about ten times slower).
   */
  private hashes = new Int32Array(256);
  /** Slot → id + 1; 0 is empty. */
  private slots = new Int32Array(512);
  private mask = 511;
  /** Ids below this have been handed out. */
  private nextId = 0;
  private free: number[] = [];
  private live = 0;
  /** `find` encodes its name here. */
  private key = Buffer.allocUnsafe(256);
  /** Where the key last looked up lies (`key` or the caller's bytes): `insertFound` adds it without a new look. */
  private keySource: Uint8Array = this.key;
  /** Or, for an ASCII name `find` did not encode, the name itself. */
  private keyText: string | undefined;
  private keyStart = 0;
  private keyLength = 0;
  private keyHash = 0;

  get size(): number {
    return this.live;
  }

  /** Bytes of `name` encoded by the last `find` (its UTF-8 length). */
  get foundByteLength(): number {
    return this.keyLength;
  }

  /**
   * The id of `name`, or -1. Remembers the name for `insertFound`. An ASCII name (most) is hashed and compared
   * from its characters, which are its UTF-8 bytes, so it is not encoded at all; any other is encoded first.
   */
  find(name: string): number {
    const length = name.length;
    let hash = HASH_SEED;
    for (let i = 0; i < length; i++) {
      const c = name.charCodeAt(i);
      if (c >= 0x80) return this.findEncoded(name);
      hash = hashByte(hash, c);
    }
    this.keyText = name;
    this.keyHash = mixHash(hash);
    this.keyLength = length;
    return this.probe();
  }

  private findEncoded(name: string): number {
    if (this.key.length < name.length * 3) this.key = Buffer.allocUnsafe(name.length * 3);
    const length = this.key.write(name, 0, 'utf8');
    return this.findKey(this.key, 0, length, hashBytes(this.key, 0, length));
  }

  /**
   * The id of the name whose UTF-8 bytes are `bytes[start, end)`, or -1, without making a string. `hash` is their
   * hash (byte-hash.ts), when the caller computed it already while reading the bytes.
   */
  findBytes(bytes: Uint8Array, start: number, end: number, hash = hashBytes(bytes, start, end)): number {
    return this.findKey(bytes, start, end, hash);
  }

  /**
   * Adds the name the last `find` or `findBytes` did not find; nothing may change the table, or the bytes given to
   * `findBytes`, in between. Returns its id.
   */
  insertFound(): number {
    const length = this.keyLength;
    if ((this.live + 1) * 4 > this.mask * 3) this.growSlots();
    if (length > this.maxLength) this.widenLengths(length);
    const offset = this.reserve(length);
    const chunk = this.chunks[offset >>> CHUNK_BITS]!;
    if (this.keyText !== undefined) chunk.write(this.keyText, offset & CHUNK_MASK, 'latin1');
    else chunk.set(this.keySource.subarray(this.keyStart, this.keyStart + length), offset & CHUNK_MASK);
    this.liveBytes += length;
    const id = this.free.pop() ?? this.nextId++;
    if (id >= this.offsets.length) this.growIds();
    this.offsets[id] = offset;
    this.lengths[id] = length;
    this.hashes[id] = this.keyHash;
    this.live++;
    this.place(id);
    return id;
  }

  /** The id of `name`, adding it first if it is new. */
  intern(name: string): number {
    const id = this.find(name);
    return id >= 0 ? id : this.insertFound();
  }

  has(id: number): boolean {
    return id >= 0 && id < this.nextId && this.offsets[id] !== DEAD;
  }

  nameOf(id: number): string {
    const offset = this.offsets[id]!;
    const at = offset & CHUNK_MASK;
    return this.chunks[offset >>> CHUNK_BITS]!.toString('utf8', at, at + this.lengths[id]!);
  }

  byteLengthOf(id: number): number {
    return this.lengths[id]!;
  }

  /** Ids in use, in id order (insertion order until ids are reused). */
  *ids(): IterableIterator<number> {
    for (let id = 0; id < this.nextId; id++) if (this.offsets[id] !== DEAD) yield id;
  }

  *names(): IterableIterator<string> {
    for (const id of this.ids()) yield this.nameOf(id);
  }

  /** Removes the name under `id`; the id is handed out again by a later insert. */
  remove(id: number): void {
    let hole = this.slotOf(id);
    this.slots[hole] = 0;
    // Backward shift: pull later entries of the probe run into the hole unless their home lies after it.
    for (let j = (hole + 1) & this.mask; this.slots[j] !== 0; j = (j + 1) & this.mask) {
      const home = this.hashes[this.slots[j]! - 1]! & this.mask;
      if (((j - home) & this.mask) >= ((j - hole) & this.mask)) {
        this.slots[hole] = this.slots[j]!;
        this.slots[j] = 0;
        hole = j;
      }
    }
    this.dead += this.lengths[id]!;
    this.liveBytes -= this.lengths[id]!;
    this.offsets[id] = DEAD;
    this.lengths[id] = 0;
    this.free.push(id);
    this.live--;
  }

  private findKey(bytes: Uint8Array, start: number, end: number, hash: number): number {
    this.keyText = undefined;
    this.keyHash = mixHash(hash);
    this.keySource = bytes;
    this.keyStart = start;
    this.keyLength = end - start;
    return this.probe();
  }

  /** The id of the key `find` or `findKey` just took in, or -1. */
  private probe(): number {
    const hash = this.keyHash;
    const length = this.keyLength;
    for (let slot = hash & this.mask; ; slot = (slot + 1) & this.mask) {
      const entry = this.slots[slot]!;
      if (entry === 0) return -1;
      const id = entry - 1;
      if (this.hashes[id] === hash && this.lengths[id] === length && this.holdsKey(id, length)) return id;
    }
  }

  /** Whether the name under `id` (of `length` bytes) is the key, byte for byte. */
  private holdsKey(id: number, length: number): boolean {
    const offset = this.offsets[id]!;
    const chunk = this.chunks[offset >>> CHUNK_BITS]!;
    const at = offset & CHUNK_MASK;
    const text = this.keyText;
    if (text !== undefined) {
      for (let i = 0; i < length; i++) if (chunk[at + i] !== text.charCodeAt(i)) return false;
      return true;
    }
    const bytes = this.keySource;
    const start = this.keyStart;
    for (let i = 0; i < length; i++) if (chunk[at + i] !== bytes[start + i]) return false;
    return true;
  }

  private slotOf(id: number): number {
    for (let slot = this.hashes[id]! & this.mask; ; slot = (slot + 1) & this.mask)
      if (this.slots[slot] === id + 1) return slot;
  }

  private place(id: number): void {
    let slot = this.hashes[id]! & this.mask;
    while (this.slots[slot] !== 0) slot = (slot + 1) & this.mask;
    this.slots[slot] = id + 1;
  }

  /** An arena offset with room for `length` bytes: compacts when half the arena is dead, else adds a chunk. */
  private reserve(length: number): number {
    if (this.tail + length > this.chunks[this.chunks.length - 1]!.length && this.dead > this.liveBytes) this.compact();
    return this.allocate(length);
  }

  private allocate(length: number): number {
    let last = this.chunks[this.chunks.length - 1]!;
    if (this.tail + length > last.length) {
      // Chunks double up to CHUNK; a name longer than that has a chunk of its own.
      last = Buffer.allocUnsafe(Math.max(Math.min(last.length * 2, CHUNK), length));
      this.chunks.push(last);
      this.tail = 0;
      if (this.chunks.length > MAX_CHUNKS) throw new RangeError('name table past its 4 GiB of names');
    }
    const offset = (this.chunks.length - 1) * CHUNK + this.tail;
    this.tail += length;
    return offset;
  }

  /** Copies the live names into new chunks, dropping the removed names' bytes. */
  private compact(): void {
    const old = this.chunks;
    this.chunks = [Buffer.allocUnsafe(FIRST_CHUNK)];
    this.tail = 0;
    for (let id = 0; id < this.nextId; id++) {
      const offset = this.offsets[id]!;
      if (offset === DEAD) continue;
      const length = this.lengths[id]!;
      const to = this.allocate(length);
      const at = offset & CHUNK_MASK;
      old[offset >>> CHUNK_BITS]!.copy(this.chunks[to >>> CHUNK_BITS]!, to & CHUNK_MASK, at, at + length);
      this.offsets[id] = to;
    }
    this.dead = 0;
  }

  private growIds(): void {
    const size = this.offsets.length * 2;
    const offsets = new Uint32Array(size).fill(DEAD);
    offsets.set(this.offsets);
    this.offsets = offsets;
    const lengths = lengthColumn(this.maxLength, size);
    lengths.set(this.lengths);
    this.lengths = lengths;
    const hashes = new Int32Array(size);
    hashes.set(this.hashes);
    this.hashes = hashes;
  }

  /** A name longer than `lengths` holds: the column becomes the narrowest that holds `length`. */
  private widenLengths(length: number): void {
    this.maxLength = length <= 0xffff ? 0xffff : 0xffff_ffff;
    const lengths = lengthColumn(this.maxLength, this.lengths.length);
    lengths.set(this.lengths);
    this.lengths = lengths;
  }

  private growSlots(): void {
    this.slots = new Int32Array(this.slots.length * 2);
    this.mask = this.slots.length - 1;
    for (let id = 0; id < this.nextId; id++) if (this.offsets[id] !== DEAD) this.place(id);
  }
}

const CHUNK_BITS = 20;
/** The largest chunk: a MiB, so an offset's 32 bits hold 4096 of them. */
const CHUNK = 1 << CHUNK_BITS;
const CHUNK_MASK = CHUNK - 1;
const MAX_CHUNKS = 4095;
const FIRST_CHUNK = 4096;
/** Marks an id not in use: an offset in chunk 4095, which is never made. */
const DEAD = 0xffffffff;

type LengthColumn = Uint8Array | Uint16Array | Uint32Array;

function lengthColumn(maxLength: number, size: number): LengthColumn {
  if (maxLength <= 0xff) return new Uint8Array(size);
  if (maxLength <= 0xffff) return new Uint16Array(size);
  return new Uint32Array(size);
}
