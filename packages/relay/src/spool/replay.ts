/**
 * The spool read back at start-up, before the listeners open. Each destination's slices of a format are cut
 * into batches exactly where the batch records say the links cut them: a batch not yet acked durable is queued
 * again with the sequence it was sent with (the relay id is the same, so an accumulator that had processed it
 * drops it as a duplicate), and the lines after the last batch record (in an open batch at the crash, never sent)
 * go to the link as new lines. Nothing is routed again, so a ring change since cannot move a line.
 */
import type { CounterChild, MetricsRegistry } from '@carillon/core';
import { spoolSegmentOf, toWireFormat, type AccumulatorLink, type WireLineBatch } from '@carillon/transport';
import type { RelaySpool, SpoolContents, SpooledBatch, SpooledSlice } from './spool.js';

export interface SpoolReplayCounts {
  batches: number;
  lines: number;
  /** Lines after the last batch record: handed to the links as new. */
  newLines: number;
  /** Lines for a destination in no ring version any more. */
  dropped: number;
}

function countLines(lines: Buffer): number {
  let count = 0;
  for (let at = lines.indexOf(0x0a); at >= 0; at = lines.indexOf(0x0a, at + 1)) count++;
  return count;
}

export function replaySpool(
  contents: SpoolContents,
  spool: RelaySpool,
  linkOf: (key: string) => AccumulatorLink | undefined,
  registry: MetricsRegistry,
): SpoolReplayCounts {
  const replayed = registry.counter(
    'relay_spool_replayed_lines_total',
    'Lines read back from the spool at start-up: resent in their batch, new (never sent), or no_destination (dropped)',
    ['outcome'],
  );
  const outcome = (name: string): CounterChild => replayed.labels(name);
  const counts: SpoolReplayCounts = { batches: 0, lines: 0, newLines: 0, dropped: 0 };
  const streams = new Map<string, { slices: SpooledSlice[]; batches: SpooledBatch[] }>();
  const streamOf = (destination: string, format: string): { slices: SpooledSlice[]; batches: SpooledBatch[] } => {
    const key = `${destination}\n${format}`;
    let stream = streams.get(key);
    if (stream === undefined) streams.set(key, (stream = { slices: [], batches: [] }));
    return stream;
  };
  for (const slice of contents.slices) streamOf(slice.destination, slice.format).slices.push(slice);
  for (const batch of contents.batches) streamOf(batch.destination, batch.format).batches.push(batch);

  const rebuilt = new Map<AccumulatorLink, WireLineBatch[]>();
  const tails: { link: AccumulatorLink; slice: SpooledSlice; from: number }[] = [];
  for (const [key, { slices, batches }] of streams) {
    const destination = key.slice(0, key.indexOf('\n'));
    const link = linkOf(destination);
    if (link === undefined) {
      for (const slice of slices) counts.dropped += countLines(slice.lines);
      continue;
    }
    const durable = contents.durable.get(destination) ?? 0;
    let index = 0;
    let offset = 0;
    for (const batch of batches) {
      const parts: Buffer[] = [];
      let first: SpooledSlice | undefined;
      const segments = new Set<number>();
      // Whole slices before the batch's last one, then that one up to where the batch ended.
      for (; index < slices.length && slices[index]!.record <= batch.endRecord; index++, offset = 0) {
        const slice = slices[index]!;
        const end =
          slice.record === batch.endRecord ? Math.min(batch.endOffset, slice.lines.length) : slice.lines.length;
        if (end > offset) {
          parts.push(slice.lines.subarray(offset, end));
          first ??= slice;
          segments.add(spoolSegmentOf(slice.record));
        }
        if (end < slice.lines.length) {
          offset = Math.max(offset, end);
          break;
        }
      }
      if (first === undefined || batch.sequence <= durable) continue;
      const lines = Buffer.concat(parts);
      const wire: WireLineBatch = {
        relayId: link.relayId,
        sequence: batch.sequence,
        format: toWireFormat(batch.format),
        ringVersion: first.ringVersion,
        lines,
        lineCount: countLines(lines),
        receivedAtMs: first.receivedAtMs,
      };
      let list = rebuilt.get(link);
      if (list === undefined) rebuilt.set(link, (list = []));
      list.push(wire);
      for (const segment of segments) spool.need(segment, destination, batch.sequence);
    }
    for (; index < slices.length; index++, offset = 0) tails.push({ link, slice: slices[index]!, from: offset });
  }
  // Graphite and StatsD batches of a link share one sequence: queue them in its order, before any new line.
  for (const [link, list] of rebuilt) {
    list.sort((a, b) => a.sequence - b.sequence);
    for (const batch of list) {
      link.retain(batch);
      counts.batches++;
      counts.lines += batch.lineCount;
    }
  }
  for (const { link, slice, from } of tails) {
    counts.newLines += countLines(slice.lines.subarray(from));
    link.appendSlice(slice.format, slice.lines, slice.receivedAtMs, slice.ringVersion, slice.record, from);
  }
  outcome('resent').inc(counts.lines);
  outcome('new').inc(counts.newLines);
  outcome('no_destination').inc(counts.dropped);
  return counts;
}
