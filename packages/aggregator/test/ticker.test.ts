import { describe, expect, it } from 'vitest';
import { FlushTicker } from '@carillon/aggregator';
import { VirtualTime } from './virtual-time.js';

describe('FlushTicker', () => {
  it('computes the next boundary strictly after now, offset by the grace period', () => {
    expect(FlushTicker.nextBoundaryMs(1_000_500, 10, 2)).toBe(1_002_000);
    expect(FlushTicker.nextBoundaryMs(1_002_000, 10, 2)).toBe(1_012_000);
    expect(FlushTicker.nextBoundaryMs(1_001_999, 10, 2)).toBe(1_002_000);
    expect(FlushTicker.nextBoundaryMs(1_000_500, 10, 0)).toBe(1_010_000);
    // An offset of a step or more wraps: grace 12 on a 10s step ticks at :2.
    expect(FlushTicker.nextBoundaryMs(1_000_500, 10, 12)).toBe(1_002_000);
  });

  it('ticks on wall-clock boundaries and does not accumulate timer lateness', () => {
    const time = new VirtualTime(1_000_500, 300);
    const ticks: number[] = [];
    const ticker = new FlushTicker(10, 2, (s) => ticks.push(s), time, time);
    ticker.start();
    time.advanceTo(1_045_000);
    // Each timer fires 300 ms late, but every tick is scheduled from the clock: no 600, 900, ... ms pile-up.
    expect(time.fired).toEqual([1_002_300, 1_012_300, 1_022_300, 1_032_300, 1_042_300]);
    expect(ticks).toEqual([1002, 1012, 1022, 1032, 1042]);
    ticker.stop();
    expect(time.pendingTimers).toBe(0);
  });

  it('waits out a timer that fires early instead of ticking before the boundary', () => {
    const time = new VirtualTime(1_000_500, -5);
    const ticks: number[] = [];
    const ticker = new FlushTicker(10, 0, (s) => ticks.push(s), time, time);
    ticker.start();
    time.advanceTo(1_010_000);
    expect(ticks).toEqual([1010]);
    expect(time.now()).toBe(1_010_000);
    ticker.stop();
  });

  it('after a tick that overran the next boundary, schedules the boundary after the clock', () => {
    const time = new VirtualTime(1_000_000);
    const ticks: number[] = [];
    const ticker = new FlushTicker(
      10,
      0,
      (s) => {
        ticks.push(s);
        if (s === 1010) time.set(1_025_500); // this tick took 15.5 s
      },
      time,
      time,
    );
    ticker.start();
    time.advanceTo(1_050_000);
    expect(ticks).toEqual([1010, 1030, 1040, 1050]);
    ticker.stop();
  });
});
