import { describe, expect, it } from 'vitest';
import { HandleCache, KeyedLock, Semaphore } from '@carillon/writers';

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('Semaphore', () => {
  it('never runs more than its limit at once and runs everything', async () => {
    const semaphore = new Semaphore(3);
    let running = 0;
    let peak = 0;
    const done: number[] = [];
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        semaphore.run(async () => {
          running++;
          peak = Math.max(peak, running);
          for (let t = 0; t < (i % 4) + 1; t++) await tick();
          running--;
          done.push(i);
        }),
      ),
    );
    expect(peak).toBe(3);
    expect(done.sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(semaphore.running).toBe(0);
  });
});

describe('KeyedLock', () => {
  it('runs tasks of one key in order, one at a time, and other keys alongside; a failure does not block the key', async () => {
    const lock = new KeyedLock();
    const log: string[] = [];
    const task = (key: string, id: number, fail = false) =>
      lock.run(key, async () => {
        log.push(`start ${key}${id}`);
        await tick();
        log.push(`end ${key}${id}`);
        if (fail) throw new Error('boom');
        return id;
      });
    const results = await Promise.allSettled([task('a', 1, true), task('a', 2), task('b', 1)]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'fulfilled', 'fulfilled']);
    expect(log.indexOf('end a1')).toBeLessThan(log.indexOf('start a2'));
    expect(log.indexOf('start b1')).toBeLessThan(log.indexOf('end a1'));
    expect(lock.size).toBe(0);
  });
});

describe('HandleCache', () => {
  it('evicts the least recently used, and closes a busy evicted file only when its user is done', async () => {
    const closed: string[] = [];
    const evicted: string[] = [];
    const cache = new HandleCache<{ key: string }>({
      limit: 2,
      open: async (key) => ({ key }),
      close: async (value) => void closed.push(value.key),
      onEvict: (key) => evicted.push(key),
    });
    await cache.use('a', undefined, async () => undefined);
    await cache.use('b', undefined, async () => undefined);
    await cache.use('a', undefined, async () => undefined); // a is now the most recent
    let release!: () => void;
    const busyC = cache.use('c', undefined, () => new Promise<void>((resolve) => (release = resolve)));
    await tick();
    expect(evicted).toEqual(['b']);
    expect(closed).toEqual(['b']);
    await cache.use('d', undefined, async () => undefined); // evicts a, the least recent
    expect(evicted).toEqual(['b', 'a']);
    await cache.use('e', undefined, async () => undefined); // evicts c while in use
    expect(evicted).toEqual(['b', 'a', 'c']);
    expect(closed).toEqual(['b', 'a']);
    expect(cache.open).toBe(3); // d, e and the busy c
    release();
    await busyC;
    expect(closed).toEqual(['b', 'a', 'c']);
    expect(cache.open).toBe(2);
    expect(cache.evictions).toBe(3);
    await cache.closeAll();
    expect(closed.sort()).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(cache.open).toBe(0);
  });
});
