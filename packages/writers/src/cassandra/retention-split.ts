/**
 * Per-pattern retention on Cassandra (core retention.ts). The series of one flushed window are grouped by their
 * rule's resolution of that step: each group goes to the pool carrying that resolution, so its rows (flat rows and
 * chunks alike) are written with the rule's TTL; a series whose rule keeps no such step is not written at that
 * step, counted. The tables stay one per step of `times` with its TTL as the default; a rule's TTL is each row's
 * own `USING TTL`. Without rules a batch passes through untouched.
 */
import {
  hasRetentionRules,
  retentionFor,
  subsetBatch,
  type CounterChild,
  type FlushBatch,
  type Resolution,
  type RetentionRule,
  type WriteOutcome,
} from '@carillon/core';

export class RetentionSplit {
  constructor(
    private readonly rules: readonly RetentionRule[],
    /** Points of a step the series' rule does not keep. */
    private readonly notKept: CounterChild,
  ) {}

  /** Writes `batch` through `write`, a group per rule resolution; hands back what failed, as a subset of `batch`. */
  async write(batch: FlushBatch, write: (part: FlushBatch) => Promise<WriteOutcome>): Promise<WriteOutcome> {
    if (!hasRetentionRules(this.rules)) return write(batch);
    const step = batch.resolution.step;
    const groups = new Map<Resolution, number[]>();
    let skipped = 0;
    batch.names.forEach((name, i) => {
      const kept = retentionFor(name, this.rules).find((r) => r.step === step);
      if (kept === undefined) {
        skipped++;
        return;
      }
      const group = groups.get(kept);
      if (group) group.push(i);
      else groups.set(kept, [i]);
    });
    if (skipped > 0) this.notKept.inc(skipped);
    const failed = await Promise.all(
      [...groups].map(async ([resolution, indexes]) => {
        const part = { ...subsetBatch(batch, indexes), resolution };
        const outcome = await write(part);
        if (outcome.retry === undefined) return [];
        // Back to the indexes of `batch`: a retry is split again, so it keeps its rule's TTL.
        const position = new Map(part.names.map((name, j) => [name, indexes[j]!]));
        return outcome.retry.names.map((name) => position.get(name)!);
      }),
    );
    const retry = failed.flat().sort((a, b) => a - b);
    return retry.length === 0 ? {} : { retry: subsetBatch(batch, retry) };
  }
}
