/** Called once for every series name the aggregator sees for the first time (the store's path index uses it). */
export type NewSeriesListener = (name: string) => void;

/**
 * What one name is taken to cost in memory: its characters (two bytes each at worst: V8 keeps non-Latin-1
 * strings in UTF-16), the Map entry, the name slot and the last-seen slot. An estimate that errs high, so the
 * budget holds against the heap.
 */
export function seriesNameCost(name: string): number {
  return 2 * name.length + 96;
}

/**
 * Canonical series names and the small integer ids the window tables index by. Ids are dense so that a
 * window can find a series' row with an array lookup. Names are bounded in bytes (`maxBytes`); a series silent
 * long enough is forgotten (`forgetIdle`) and its id reused.
 */
export class SeriesRegistry {
  private readonly ids = new Map<string, number>();
  private readonly names: string[] = [];
  /** Id → the registry's clock when the series last had a point (see `now`). */
  private lastSeen = new Float64Array(1024);
  /** Ids of forgotten series, reused first. */
  private readonly free: number[] = [];
  private readonly listeners: NewSeriesListener[] = [];
  /** Estimated bytes of the names held. */
  bytes = 0;
  /** Set by the aggregator at each tick: what `lastSeen` records (a tick's resolution is enough for idleness). */
  now = 0;

  constructor(readonly maxBytes = Infinity) {}

  get size(): number {
    return this.ids.size;
  }

  /** Whether `name` is known or would fit in the budget. */
  admits(name: string): boolean {
    return this.ids.has(name) || this.bytes + seriesNameCost(name) <= this.maxBytes;
  }

  /** The id of `name`, registering it (and telling the listeners) on first sight; -1 when the budget is spent. */
  idOf(name: string): number {
    const known = this.ids.get(name);
    if (known !== undefined) {
      this.lastSeen[known] = this.now;
      return known;
    }
    const cost = seriesNameCost(name);
    if (this.bytes + cost > this.maxBytes) return -1;
    this.bytes += cost;
    const id = this.free.pop() ?? this.names.length;
    this.ids.set(name, id);
    this.names[id] = name;
    if (id >= this.lastSeen.length) {
      const grown = new Float64Array(this.lastSeen.length * 2);
      grown.set(this.lastSeen);
      this.lastSeen = grown;
    }
    this.lastSeen[id] = this.now;
    for (const listener of this.listeners) listener(name);
    return id;
  }

  /** The id of `name` if it is known, without registering it. */
  find(name: string): number | undefined {
    return this.ids.get(name);
  }

  nameOf(id: number): string {
    return this.names[id]!;
  }

  allNames(): IterableIterator<string> {
    return this.ids.keys();
  }

  /**
   * Forgets every series without a point since `before` that `inUse` does not hold (a window still open or
   * waiting for the sink has its id); returns how many. Their ids are reused by later names.
   */
  forgetIdle(before: number, inUse: (id: number) => boolean): number {
    let forgotten = 0;
    for (const [name, id] of this.ids) {
      if (this.lastSeen[id]! >= before || inUse(id)) continue;
      this.ids.delete(name);
      this.names[id] = '';
      this.free.push(id);
      this.bytes -= seriesNameCost(name);
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
