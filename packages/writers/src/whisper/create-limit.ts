/**
 * The file-creation rate limit (carbon's MAX_CREATES_PER_MINUTE): a token bucket of `perSecond` tokens refilled
 * continuously, holding at most one second's worth. Creating a file costs an fsync and a directory update, far more
 * than an update; the limit keeps a burst of new series from taking the disk from the series that have files.
 */
export class CreationLimit {
  private tokens: number;
  private last: number;

  /** `perSecond` 0: no limit. */
  constructor(
    private readonly perSecond: number,
    private readonly nowMs: () => number = () => performance.now(),
  ) {
    if (!(perSecond >= 0)) throw new RangeError('creations per second must be at least 0');
    this.tokens = Math.max(1, perSecond);
    this.last = nowMs();
  }

  /** Takes one creation if the rate allows it now. */
  take(): boolean {
    if (this.perSecond === 0) return true;
    const now = this.nowMs();
    this.tokens = Math.min(Math.max(1, this.perSecond), this.tokens + ((now - this.last) / 1000) * this.perSecond);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens--;
    return true;
  }
}
