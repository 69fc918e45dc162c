/** A set of at most `capacity` strings that forgets the least recently used one first, counting evictions. */
export class BoundedSet {
  private readonly entries = new Set<string>();
  evictions = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new Error('BoundedSet capacity must be a positive integer');
  }

  /** True when known; a hit becomes the most recently used. */
  has(key: string): boolean {
    if (!this.entries.has(key)) return false;
    this.entries.delete(key);
    this.entries.add(key);
    return true;
  }

  add(key: string): void {
    if (this.entries.has(key)) this.entries.delete(key);
    else if (this.entries.size >= this.capacity) {
      const oldest = this.entries.values().next().value as string;
      this.entries.delete(oldest);
      this.evictions++;
    }
    this.entries.add(key);
  }

  get size(): number {
    return this.entries.size;
  }
}
