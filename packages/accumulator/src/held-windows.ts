/**
 * Windows handed to the store and not yet written, kept readable: between the aggregator giving a closed window
 * away and the store finishing its write, the window is in neither, so a read (the node's own render, or a relay
 * reading the cluster) would miss it. The sink holds a copy of each batch (the write pool transfers the original's
 * buffers to a worker) until the store's write settles; reads prefer stored values, so a window that is both
 * written and still held counts once. A read asks the store first and the held windows after, so a window is kept
 * `keepAfterWriteMs` past its write: a read that found the store without it still finds it here.
 */
import { batchPoint, STAT_STRIDE, type FlushBatch, type Resolution, type StatPoint } from '@carillon/core';

interface Held {
  step: number;
  time: number;
  names: string[];
  stats: Float64Array;
  /** Built on the first read only: most batches are never read while held. */
  rows: Map<string, number> | undefined;
}

export class HeldWindows {
  private readonly held = new Set<Held>();

  constructor(private readonly keepAfterWriteMs = 5000) {}

  /** Keeps `batch` readable; call the returned function once the store's write settled. */
  hold(batch: FlushBatch): () => void {
    const entry: Held = {
      step: batch.resolution.step,
      time: batch.time,
      names: batch.names,
      stats: batch.stats.slice(0, batch.names.length * STAT_STRIDE),
      rows: undefined,
    };
    this.held.add(entry);
    return () => {
      setTimeout(() => this.held.delete(entry), this.keepAfterWriteMs).unref();
    };
  }

  /** The held StatPoints of `name` at `resolution` whose window starts in [from, until). */
  pending(name: string, resolution: Resolution, from: number, until: number): StatPoint[] {
    const points: StatPoint[] = [];
    for (const entry of this.held) {
      if (entry.step !== resolution.step || entry.time < from || entry.time >= until) continue;
      entry.rows ??= new Map(entry.names.map((n, i) => [n, i]));
      const row = entry.rows.get(name);
      if (row !== undefined) points.push(batchPoint(entry, row));
    }
    return points;
  }
}
