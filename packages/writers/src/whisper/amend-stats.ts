/**
 * What a whisper slot cannot say, kept beside the file so a late point merges into a stored window exactly. A
 * whisper slot holds one value by the file's method: for `sum`, `min` and `max` that value merges exactly with a
 * late StatPoint on its own; for `average` the window's sum and count are needed, and for `last` the timestamp of
 * the stored last point. Those are kept in `<series>.wsp.stats`, only for files of those methods:
 *
 *   header: magic u32 'CWS1', archive count u32, then per archive its slot count u32 (0: not kept)
 *   slots:  per archive, a ring of `slots` entries of four float64 — window start, sum, count, last timestamp —
 *           at index (start / step) mod slots, so the ring covers the last `slots` windows (max_lateness of them).
 *
 * An entry counts only when its window start is the window asked for (an older lap, or zeros, is nothing). A file
 * whose header does not match the layout wanted now (max_lateness or the archives changed) is started afresh.
 * Graphite's tools ignore it (they read `*.wsp` only); deleting it costs only exactness of amends of average/last
 * windows written before, which are then refused and counted.
 */
import type { WhisperHeader } from './format.js';
import { openFdFile, type OpenFile, type WhisperFile } from './fd-file.js';

export const STATS_SUFFIX = '.stats';

const MAGIC = 0x43575331;
const SLOT_BYTES = 32;

/** One window's kept numbers. */
export interface SlotStats {
  sum: number;
  count: number;
  lastTime: number;
}

/** Slots per archive for amends back to `maxLatenessSeconds` (0 where the archive is not written exactly). */
export function statsSlots(
  header: WhisperHeader,
  exactSteps: ReadonlySet<number>,
  maxLatenessSeconds: number,
): number[] {
  return header.archives.map((archive) =>
    exactSteps.has(archive.secondsPerPoint)
      ? Math.min(archive.points, Math.ceil(maxLatenessSeconds / archive.secondsPerPoint) + 1)
      : 0,
  );
}

export class StatsSidecar {
  private readonly offsets: number[];
  private readonly buffer = Buffer.alloc(SLOT_BYTES);

  private constructor(
    private readonly file: WhisperFile,
    private readonly slots: readonly number[],
  ) {
    let offset = 8 + 4 * slots.length;
    this.offsets = slots.map((n) => {
      const at = offset;
      offset += n * SLOT_BYTES;
      return at;
    });
  }

  /** Opens (or creates, or starts afresh when its layout differs) the sidecar at `path`. */
  static async open(path: string, slots: readonly number[], openFile: OpenFile = openFdFile): Promise<StatsSidecar> {
    let file: WhisperFile;
    try {
      file = await openFile(path, 'r+');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      file = await openFile(path, 'w+');
    }
    const header = Buffer.alloc(8 + 4 * slots.length);
    header.writeUInt32BE(MAGIC, 0);
    header.writeUInt32BE(slots.length, 4);
    slots.forEach((n, i) => header.writeUInt32BE(n, 8 + 4 * i));
    const found = Buffer.alloc(header.length);
    const { bytesRead } = await file.read(found, 0, found.length, 0);
    if (bytesRead !== header.length || !found.equals(header)) {
      // Unknown or changed layout: its entries would be read at the wrong places. The entries are left sparse, as
      // the whisper file's data area is: at the default lateness (the finest retention) a sidecar spans about
      // 2.3 MB, which written out would cost every average series that much disk at creation. A hole reads as
      // zeros, an entry of no window. On a full disk an on-time entry's write can fail, before its slot is written,
      // and the series' write is retried whole; an amend rewrites an entry written on time, whose block is on disk
      // already, so it cannot fail halfway for space.
      await file.truncate(0);
      await file.write(header, 0, header.length, 0);
      await file.truncate(header.length + slots.reduce((a, n) => a + n, 0) * SLOT_BYTES);
    }
    return new StatsSidecar(file, slots);
  }

  /** True when archive `index` keeps entries. */
  keeps(index: number): boolean {
    return (this.slots[index] ?? 0) > 0;
  }

  /** The kept numbers of the window at `time` in archive `index` (of `step`), or undefined when none are kept. */
  async read(index: number, step: number, time: number): Promise<SlotStats | undefined> {
    const position = this.positionOf(index, step, time);
    if (position === undefined) return undefined;
    const { bytesRead } = await this.file.read(this.buffer, 0, SLOT_BYTES, position);
    if (bytesRead < SLOT_BYTES || this.buffer.readDoubleBE(0) !== time) return undefined;
    return {
      sum: this.buffer.readDoubleBE(8),
      count: this.buffer.readDoubleBE(16),
      lastTime: this.buffer.readDoubleBE(24),
    };
  }

  async write(index: number, step: number, time: number, stats: SlotStats): Promise<void> {
    const position = this.positionOf(index, step, time);
    if (position === undefined) return;
    const entry = Buffer.alloc(SLOT_BYTES);
    entry.writeDoubleBE(time, 0);
    entry.writeDoubleBE(stats.sum, 8);
    entry.writeDoubleBE(stats.count, 16);
    entry.writeDoubleBE(stats.lastTime, 24);
    await this.file.write(entry, 0, SLOT_BYTES, position);
  }

  close(): Promise<void> {
    return this.file.close();
  }

  private positionOf(index: number, step: number, time: number): number | undefined {
    const slots = this.slots[index] ?? 0;
    if (slots === 0) return undefined;
    return this.offsets[index]! + (Math.floor(time / step) % slots) * SLOT_BYTES;
  }
}
