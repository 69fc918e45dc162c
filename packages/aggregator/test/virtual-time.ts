import type { Clock, Scheduler, TimerHandle } from '@carillon/aggregator';

/**
 * A clock and scheduler on virtual time: `advanceTo` moves time forward and runs due timers in order. Timers can
 * be made to fire late (or early) by a fixed amount, as real timers do, to exercise drift correction.
 */
export class VirtualTime implements Clock, Scheduler {
  private timers: { id: number; at: number; callback: () => void }[] = [];
  private nextId = 1;
  /** Every time (ms) a timer actually fired. */
  readonly fired: number[] = [];

  constructor(
    private nowMs: number,
    /** Added to a timer's due time: positive fires late, negative early (only on delays longer than the skew). */
    public skewMs = 0,
  ) {}

  now(): number {
    return this.nowMs;
  }

  setTimeout(callback: () => void, delayMs: number): TimerHandle {
    const id = this.nextId++;
    // Real timers drift by a bounded amount; an early fire never lands before a short follow-up delay.
    const skew = this.skewMs < 0 && delayMs <= -this.skewMs ? 0 : this.skewMs;
    this.timers.push({ id, at: this.nowMs + delayMs + skew, callback });
    return id;
  }

  clearTimeout(handle: TimerHandle): void {
    this.timers = this.timers.filter((t) => t.id !== handle);
  }

  /** Moves the clock without running timers (a slow tick). */
  set(ms: number): void {
    this.nowMs = ms;
  }

  advanceTo(ms: number): void {
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at);
      const next = this.timers[0];
      if (next === undefined || next.at > ms) break;
      this.timers.shift();
      this.nowMs = Math.max(this.nowMs, next.at);
      this.fired.push(this.nowMs);
      next.callback();
    }
    this.nowMs = Math.max(this.nowMs, ms);
  }

  get pendingTimers(): number {
    return this.timers.length;
  }
}
