import { NameTable } from '@carillon/core';

/** Called once for every series name the aggregator sees for the first time (the store's path index uses it). */
export type NewSeriesListener = (name: string) => void;

/**
 * What one name is taken to cost in memory, in the registry's layout (NameTable): its UTF-8 bytes twice (a
 * forgotten name's bytes stay in the arena until half of it is dead and it compacts), its id's columns (offset,
 * length, hash, last seen: 13 bytes, 16 once a name past 255 bytes widens the lengths, twice as the columns
 * grow by doubling) and its share of the hash table (at most 11 bytes at the lowest load), rounded up. An
 * estimate that errs high, so the budget holds against the heap.
 */
export function seriesNameCost(name: string): number {
  return nameCost(Buffer.byteLength(name, 'utf8'));
}

function nameCost(byteLength: number): number {
  return 2 * byteLength + 48;
}

/**
 * Canonical series names and the small integer ids the window tables index by. Ids are dense so that a
 * window can find a series' row with an array lookup. Names are kept once, as UTF-8 in a NameTable, and made
 * strings only when a flush or a read asks. Names are bounded in bytes (`maxBytes`); a series silent long enough
 * is forgotten (`forgetIdle`) and its id reused.
 */
export class SeriesRegistry {
  private readonly table = new NameTable();
  /** Id → the registry's clock when the series last had a point (see `now`), epoch seconds. */
  private lastSeen = new Uint32Array(1024);
  private readonly listeners: NewSeriesListener[] = [];
  /**
   * The name looked up last and what the table answered: ingest asks about a line's name (knows, admits) and then
   * adds its point (idOf), and one encoding and hash serves all three. Reset whenever the table changes.
   */
  private lookedUp: string | undefined;
  private lookedUpId = -1;
  /** Estimated bytes of the names held. */
  bytes = 0;
  /** Set by the aggregator at each tick: what `lastSeen` records (a tick's resolution is enough for idleness). */
  now = 0;

  constructor(readonly maxBytes = Infinity) {}

  get size(): number {
    return this.table.size;
  }

  /** Whether `name` is known or would fit in the budget. */
  admits(name: string): boolean {
    return this.lookup(name) >= 0 || this.bytes + nameCost(this.table.foundByteLength) <= this.maxBytes;
  }

  /** The id of `name`, registering it (and telling the listeners) on first sight; -1 when the budget is spent. */
  idOf(name: string): number {
    const known = this.lookup(name);
    if (known >= 0) {
      this.lastSeen[known] = this.now;
      return known;
    }
    const cost = nameCost(this.table.foundByteLength);
    if (this.bytes + cost > this.maxBytes) return -1;
    this.bytes += cost;
    const id = this.table.insertFound();
    this.lookedUpId = id;
    if (id >= this.lastSeen.length) {
      const grown = new Uint32Array(this.lastSeen.length * 2);
      grown.set(this.lastSeen);
      this.lastSeen = grown;
    }
    this.lastSeen[id] = this.now;
    for (const listener of this.listeners) listener(name);
    return id;
  }

  /**
   * The id of the known series whose name's UTF-8 bytes are `bytes[start, end)`, or -1; no string is made. `hash`:
   * as NameTable.findBytes takes it.
   */
  findBytes(bytes: Uint8Array, start: number, end: number, hash?: number): number {
    this.lookedUp = undefined; // the table's found key is now these bytes
    return this.table.findBytes(bytes, start, end, hash);
  }

  /** Marks a known series (`findBytes`) as having had a point now, as idOf does. */
  touch(id: number): void {
    this.lastSeen[id] = this.now;
  }

  /** The id of `name` if it is known, without registering it. */
  find(name: string): number | undefined {
    const id = this.lookup(name);
    return id >= 0 ? id : undefined;
  }

  /** The table's answer for `name`; its bytes stay the table's found key (for insertFound) until the next lookup. */
  private lookup(name: string): number {
    if (name !== this.lookedUp) {
      this.lookedUpId = this.table.find(name);
      this.lookedUp = name;
    }
    return this.lookedUpId;
  }

  nameOf(id: number): string {
    return this.table.nameOf(id);
  }

  allNames(): IterableIterator<string> {
    return this.table.names();
  }

  /**
   * Forgets every series without a point since `before` that `inUse` does not hold (a window still open or
   * waiting for the sink has its id); returns how many. Their ids are reused by later names.
   */
  forgetIdle(before: number, inUse: (id: number) => boolean): number {
    let forgotten = 0;
    for (const id of this.table.ids()) {
      if (this.lastSeen[id]! >= before || inUse(id)) continue;
      this.bytes -= nameCost(this.table.byteLengthOf(id));
      this.table.remove(id);
      this.lookedUp = undefined;
      forgotten++;
    }
    return forgotten;
  }
  /** Adds a listener; returns the function that removes it. */
  onNewSeries(listener: NewSeriesListener): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }
}
