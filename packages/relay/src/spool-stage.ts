/**
 * Where the lines of one read wait, per destination, format and ring version, until the end of the event-loop
 * turn: then each group is appended to the spool as one record and handed to its link with where it sits there.
 * One receive time serves the whole turn, so what the spool holds is exactly what the links were given.
 */
import type { AccumulatorLink, LineFormat } from '@carillon/transport';
import { destinationKey, type RelaySpool } from './spool/spool.js';

class Slice {
  private buffer = Buffer.allocUnsafe(16 * 1024);
  length = 0;

  constructor(
    readonly link: AccumulatorLink,
    readonly format: LineFormat,
    readonly ringVersion: number,
  ) {}

  add(buf: Buffer, start: number, end: number): void {
    const needed = this.length + (end - start) + 1;
    if (needed > this.buffer.length) {
      const grown = Buffer.allocUnsafe(Math.max(needed, this.buffer.length * 2));
      this.buffer.copy(grown, 0, 0, this.length);
      this.buffer = grown;
    }
    this.length += buf.copy(this.buffer, this.length, start, end);
    this.buffer[this.length++] = 0x0a;
  }

  /** The lines as an exact-size view (the slice is not reused). */
  lines(): Buffer {
    return this.buffer.subarray(0, this.length);
  }
}

export class SpoolStage {
  private slices = new Map<AccumulatorLink, Slice[]>();
  private turnMs = 0;
  private queued = false;

  constructor(private readonly spool: RelaySpool) {}

  /** The receive time of this turn's lines. */
  nowMs(): number {
    if (this.turnMs === 0) this.turnMs = Date.now();
    return this.turnMs;
  }

  add(link: AccumulatorLink, format: LineFormat, ringVersion: number, buf: Buffer, start: number, end: number): void {
    let list = this.slices.get(link);
    if (list === undefined) this.slices.set(link, (list = []));
    let slice = list.find((s) => s.format === format && s.ringVersion === ringVersion);
    if (slice === undefined) list.push((slice = new Slice(link, format, ringVersion)));
    slice.add(buf, start, end);
    if (!this.queued) {
      this.queued = true;
      queueMicrotask(() => this.flush());
    }
  }

  /** Spools and hands over what this turn staged. */
  flush(): void {
    const slices = this.slices;
    const receivedAtMs = this.turnMs || Date.now();
    this.slices = new Map();
    this.turnMs = 0;
    this.queued = false;
    for (const [link, list] of slices)
      for (const slice of list) {
        const lines = slice.lines();
        const record = this.spool.appendSlice(
          slice.format,
          slice.ringVersion,
          receivedAtMs,
          destinationKey(link),
          lines,
        );
        link.appendSlice(slice.format, lines, receivedAtMs, slice.ringVersion, record);
      }
  }
}
