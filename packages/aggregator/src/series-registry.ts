/** Called once for every series name the aggregator sees for the first time (the store's path index uses it). */
export type NewSeriesListener = (name: string) => void;

/**
 * Canonical series names and the small integer ids the window tables index by. Ids are dense so that a
 * window can find a series' row with an array lookup.
 */
export class SeriesRegistry {
  private readonly ids = new Map<string, number>();
  private readonly names: string[] = [];
  private readonly listeners: NewSeriesListener[] = [];

  get size(): number {
    return this.names.length;
  }

  /** The id of `name`, registering it (and telling the listeners) on first sight. */
  idOf(name: string): number {
    const known = this.ids.get(name);
    if (known !== undefined) return known;
    const id = this.names.length;
    this.ids.set(name, id);
    this.names.push(name);
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

  /** Adds a listener; returns the function that removes it. */
  onNewSeries(listener: NewSeriesListener): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }
}
