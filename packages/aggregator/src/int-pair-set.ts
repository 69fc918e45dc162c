/**
 * A set of pairs of non-negative 32-bit integers, flat: open addressing (linear probing) over one Int32Array,
 * 8 bytes a slot, nothing removed. A StatsD interval keeps its sets' members in one: (set slot, member number),
 * so a member costs one probe of a compact array instead of a Set per set key.
 */
import { mixHash } from '@carillon/core';

export class IntPairSet {
  /** Per slot, side by side: first + 1 (0: empty), second. */
  private slots: Int32Array;
  private mask: number;
  private count = 0;

  /** @param expected pairs it should hold without growing. */
  constructor(expected = 0) {
    let slots = 64;
    while (slots < expected * 2) slots *= 2;
    this.slots = new Int32Array(2 * slots);
    this.mask = slots - 1;
  }

  get size(): number {
    return this.count;
  }

  has(first: number, second: number): boolean {
    const slots = this.slots;
    for (let slot = mix(first, second) & this.mask; ; slot = (slot + 1) & this.mask) {
      const held = slots[2 * slot]!;
      if (held === 0) return false;
      if (held === first + 1 && slots[2 * slot + 1] === second) return true;
    }
  }

  /** Adds the pair; true when it was not held yet. */
  add(first: number, second: number): boolean {
    const slots = this.slots;
    let slot = mix(first, second) & this.mask;
    for (; ; slot = (slot + 1) & this.mask) {
      const held = slots[2 * slot]!;
      if (held === 0) break;
      if (held === first + 1 && slots[2 * slot + 1] === second) return false;
    }
    slots[2 * slot] = first + 1;
    slots[2 * slot + 1] = second;
    // At most half full, so probes stay short.
    if (2 * ++this.count > this.mask + 1) this.grow();
    return true;
  }

  private grow(): void {
    const old = this.slots;
    const size = 2 * (this.mask + 1);
    const slots = new Int32Array(2 * size);
    const mask = size - 1;
    for (let i = 0; i < old.length; i += 2) {
      const first = old[i]!;
      if (first === 0) continue;
      let slot = mix(first - 1, old[i + 1]!) & mask;
      while (slots[2 * slot] !== 0) slot = (slot + 1) & mask;
      slots[2 * slot] = first;
      slots[2 * slot + 1] = old[i + 1]!;
    }
    this.slots = slots;
    this.mask = mask;
  }
}

/** Both numbers mixed into one hash (murmur3's finalizer over a golden-ratio combination). */
function mix(first: number, second: number): number {
  return mixHash(Math.imul(first, 0x9e3779b1) ^ second);
}
