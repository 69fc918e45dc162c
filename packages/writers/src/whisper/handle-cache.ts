/**
 * An LRU of open files with a hard limit on idle entries. A file evicted while an operation still uses it is closed
 * when that operation ends, so the number open can pass the limit by at most the operations in flight.
 */

interface Entry<V> {
  value: V;
  users: number;
  evicted: boolean;
}

export interface HandleCacheOptions<V, A> {
  /** Files kept open; at least 1. */
  limit: number;
  /** Opens `key`'s file; `arg` is what the `use` call that needs it passed. */
  open(key: string, arg: A): Promise<V>;
  close(value: V, key: string): Promise<void>;
  /** Called once per eviction (not for `closeAll`). */
  onEvict?(key: string): void;
  /** A close that failed; the entry is gone either way. */
  onCloseError?(error: unknown, key: string): void;
}

export class HandleCache<V, A = void> {
  /** Map order is recency order: the first entry is the least recently used. */
  private readonly entries = new Map<string, Entry<V>>();
  private readonly opening = new Map<string, Promise<Entry<V>>>();
  private openCount = 0;
  evictions = 0;

  constructor(private readonly options: HandleCacheOptions<V, A>) {
    if (!Number.isInteger(options.limit) || options.limit < 1)
      throw new RangeError('maxOpenFiles must be a positive integer');
  }

  /** Runs `task` with the open file for `key`, opening it (and evicting the least recently used) if needed. */
  async use<T>(key: string, arg: A, task: (value: V) => Promise<T>): Promise<T> {
    const entry = await this.acquire(key, arg);
    try {
      return await task(entry.value);
    } finally {
      entry.users--;
      if (entry.evicted && entry.users === 0) await this.closeEntry(entry, key);
    }
  }

  /** Closes and forgets `key`'s file, e.g. after an error left it in doubt. */
  async discard(key: string): Promise<void> {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    entry.evicted = true;
    if (entry.users === 0) await this.closeEntry(entry, key);
  }

  private async acquire(key: string, arg: A): Promise<Entry<V>> {
    for (;;) {
      const cached = this.entries.get(key);
      if (cached) {
        this.entries.delete(key);
        this.entries.set(key, cached);
        cached.users++;
        return cached;
      }
      const pending = this.opening.get(key);
      if (pending) {
        // Someone else is opening it: wait, then look again (it may have been evicted meanwhile).
        await pending.catch(() => undefined);
        continue;
      }
      const opened = this.openEntry(key, arg);
      this.opening.set(key, opened);
      try {
        return await opened;
      } finally {
        this.opening.delete(key);
      }
    }
  }

  private async openEntry(key: string, arg: A): Promise<Entry<V>> {
    const value = await this.options.open(key, arg);
    this.openCount++;
    // In use by the opener from the start, so no eviction can close it before the opener gets it.
    const entry: Entry<V> = { value, users: 1, evicted: false };
    this.entries.set(key, entry);
    await this.evictOverLimit();
    return entry;
  }

  private async evictOverLimit(): Promise<void> {
    const closing: Promise<void>[] = [];
    for (const [key, entry] of this.entries) {
      if (this.entries.size <= this.options.limit) break;
      this.entries.delete(key);
      entry.evicted = true;
      this.evictions++;
      this.options.onEvict?.(key);
      if (entry.users === 0) closing.push(this.closeEntry(entry, key));
    }
    await Promise.all(closing);
  }

  private async closeEntry(entry: Entry<V>, key: string): Promise<void> {
    this.openCount--;
    try {
      await this.options.close(entry.value, key);
    } catch (error) {
      this.options.onCloseError?.(error, key);
    }
  }

  /** Files open now, including evicted ones still in use. */
  get open(): number {
    return this.openCount;
  }

  /** Closes every idle file and marks busy ones to close when their operation ends. */
  async closeAll(): Promise<void> {
    const closing: Promise<void>[] = [];
    for (const [key, entry] of this.entries) {
      this.entries.delete(key);
      entry.evicted = true;
      if (entry.users === 0) closing.push(this.closeEntry(entry, key));
    }
    await Promise.all(closing);
  }
}
