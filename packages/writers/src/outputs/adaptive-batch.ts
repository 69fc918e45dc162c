/**
 * The adaptive batch size of a batched writer. It grows by `grow` after a window of `window` deliveries that were
 * all full (size-triggered: there was more to send), all faster than `targetMs` and none failed; it shrinks by
 * `shrink` at once on a delivery slower than the target or a failure (the window starts again). Always within
 * [min, max].
 */
export interface AdaptiveBatchOptions {
  initial: number;
  min: number;
  max: number;
  targetMs: number;
  grow: number;
  shrink: number;
  window: number;
  /** False: the size stays at `initial`. */
  adaptive: boolean;
}

export class AdaptiveBatchSize {
  private current: number;
  private good = 0;
  /** Latency of the last delivery, milliseconds (for /metrics). */
  lastLatencyMs = 0;

  constructor(private readonly options: AdaptiveBatchOptions) {
    this.current = clamp(options.initial, options.min, options.max);
  }

  get size(): number {
    return this.current;
  }

  /** One delivery's outcome: its latency, whether it failed, whether it was full. */
  observe(latencyMs: number, failed: boolean, full: boolean): void {
    this.lastLatencyMs = latencyMs;
    const o = this.options;
    if (!o.adaptive) return;
    if (failed || latencyMs > o.targetMs) {
      this.current = clamp(Math.floor(this.current * o.shrink), o.min, o.max);
      this.good = 0;
      return;
    }
    if (!full) return;
    this.good++;
    if (this.good >= o.window) {
      this.current = clamp(Math.ceil(this.current * o.grow), o.min, o.max);
      this.good = 0;
    }
  }
}

function clamp(value: number, min: number, max: number): number {
  return Math.max(min, Math.min(max, value));
}
