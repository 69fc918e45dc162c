import { describe, expect, it } from 'vitest';
import { MetricsRegistry } from '@carillon/core';
import { DurabilityTracker } from '@carillon/accumulator';

function tracker(maxRelays = 10, watermark = 100) {
  const registry = new MetricsRegistry();
  let now = 1_000_000;
  const t = new DurabilityTracker({ maxRelays }, watermark, registry, () => now);
  return { t, registry, advanceClock: (ms: number) => (now += ms) };
}

describe('DurabilityTracker', () => {
  it('makes a batch durable once every window it stored points in is written, in sequence order', () => {
    const { t } = tracker();
    t.processed('r1', 1, 110);
    t.processed('r1', 2, 120);
    t.processed('r1', 3, 110); // folded into sequence 2's entry: durable no earlier than it
    expect(t.durableSequence('r1')).toBe(0);
    t.advance(110);
    expect(t.durableSequence('r1')).toBe(1);
    t.advance(119);
    expect(t.durableSequence('r1')).toBe(1);
    t.advance(120);
    expect(t.durableSequence('r1')).toBe(3);
    expect(t.pendingEntries).toBe(0);
  });

  it('never lets a later batch with early windows overtake an earlier pending one', () => {
    const { t } = tracker();
    t.processed('r1', 1, 130);
    t.processed('r1', 2, 110);
    t.advance(120);
    expect(t.durableSequence('r1')).toBe(0);
    t.advance(130);
    expect(t.durableSequence('r1')).toBe(2);
  });

  it('acks at once a batch that stored nothing, or only points before the watermark, when nothing is pending', () => {
    const { t } = tracker();
    t.processed('r1', 4, 0);
    expect(t.durableSequence('r1')).toBe(4);
    t.processed('r1', 5, 100);
    expect(t.durableSequence('r1')).toBe(5);
    t.processed('r1', 6, 200);
    t.processed('r1', 7, 0);
    expect(t.durableSequence('r1')).toBe(5);
  });

  it('keeps relays apart', () => {
    const { t } = tracker();
    t.processed('a', 1, 110);
    t.processed('b', 1, 120);
    t.advance(110);
    expect([t.durableSequence('a'), t.durableSequence('b'), t.durableSequence('c')]).toEqual([1, 0, 0]);
  });

  it('holds about one entry per open window whatever the batch count', () => {
    const { t } = tracker();
    for (let seq = 1; seq <= 10_000; seq++) t.processed('r', seq, 101 + Math.floor(seq / 2000));
    expect(t.pendingEntries).toBe(6);
  });

  it('forgets the idle relay with nothing pending past max_relays, and refuses (counted) when all have work', () => {
    const { t, registry, advanceClock } = tracker(2);
    t.processed('a', 1, 0);
    advanceClock(10);
    t.processed('b', 1, 200);
    advanceClock(10);
    expect(t.processed('c', 1, 0)).toBe(true); // 'a' is forgotten
    expect(registry.value('accumulator_relays_forgotten_total')).toBe(1);
    expect(t.durableSequence('a')).toBe(0);
    t.processed('c', 2, 300);
    expect(t.processed('d', 1, 0)).toBe(false);
    expect(registry.value('accumulator_relays_untracked_total')).toBe(1);
  });

  it('reports how far behind the oldest pending window is', () => {
    const { t, registry } = tracker(10, 990);
    t.processed('a', 1, 995);
    expect(registry.render()).toMatch(/accumulator_durable_lag_seconds 5(\n|$)/);
    t.advance(995);
    expect(registry.render()).toMatch(/accumulator_durable_lag_seconds 0(\n|$)/);
  });
});
