/** Wall-clock time in milliseconds since the epoch. Injected so tests never wait on real time. */
export interface Clock {
  now(): number;
}

export type TimerHandle = unknown;

/** Schedules one callback after a delay. Injected with the clock. */
export interface Scheduler {
  setTimeout(callback: () => void, delayMs: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

export const systemClock: Clock = { now: () => Date.now() };

export const systemScheduler: Scheduler = {
  setTimeout: (callback, delayMs) => {
    const handle = setTimeout(callback, delayMs);
    // A flush ticker alone should not keep the process alive.
    handle.unref();
    return handle;
  },
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/**
 * Fires `onTick(tickSeconds)` whenever wall-clock time crosses `k * step + offset` (seconds). Every tick is
 * scheduled from the clock, never by adding intervals, so a late timer or a slow tick does not push later ticks
 * off the boundary; a tick that would fire early (timer granularity) waits for the rest. Ticks missed while
 * the process stalled are not replayed one by one: the next tick's time covers them.
 */
export class FlushTicker {
  private handle: TimerHandle | undefined;
  private nextMs = 0;
  private running = false;

  constructor(
    private readonly stepSeconds: number,
    private readonly offsetSeconds: number,
    private readonly onTick: (tickSeconds: number) => void,
    private readonly clock: Clock = systemClock,
    private readonly scheduler: Scheduler = systemScheduler,
  ) {
    if (!(stepSeconds > 0)) throw new Error('FlushTicker: step must be positive');
  }

  /** The next boundary strictly after `nowMs`, in milliseconds. */
  static nextBoundaryMs(nowMs: number, stepSeconds: number, offsetSeconds: number): number {
    const stepMs = stepSeconds * 1000;
    const offsetMs = (offsetSeconds % stepSeconds) * 1000;
    return (Math.floor((nowMs - offsetMs) / stepMs) + 1) * stepMs + offsetMs;
  }

  /** Time of the next scheduled tick (ms), for logs and tests. */
  get nextTickMs(): number {
    return this.nextMs;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule(FlushTicker.nextBoundaryMs(this.clock.now(), this.stepSeconds, this.offsetSeconds));
  }

  stop(): void {
    this.running = false;
    if (this.handle !== undefined) this.scheduler.clearTimeout(this.handle);
    this.handle = undefined;
  }

  private schedule(atMs: number): void {
    this.nextMs = atMs;
    this.handle = this.scheduler.setTimeout(() => this.fire(), Math.max(0, atMs - this.clock.now()));
  }

  private fire(): void {
    this.handle = undefined;
    if (!this.running) return;
    const now = this.clock.now();
    if (now < this.nextMs) {
      this.schedule(this.nextMs);
      return;
    }
    try {
      this.onTick(Math.floor(now / 1000));
    } finally {
      // From the clock after the tick: a tick that ran past the next boundary does not fire twice in a row late.
      if (this.running)
        this.schedule(FlushTicker.nextBoundaryMs(this.clock.now(), this.stepSeconds, this.offsetSeconds));
    }
  }
}
