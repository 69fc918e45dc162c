import { mergeStatPoint, windowStart, type AmendInfo, type Resolution, type StatPoint } from '@carillon/core';
import { WindowTable } from './window-table.js';

/** A window that will accept no more points, waiting to be handed to the sink. */
export interface ClosedWindow {
  resolution: Resolution;
  table: WindowTable;
  /** Set for points that arrived after their window closed: merged into the stored window, not written over it. */
  amend?: AmendInfo;
}

/** The windows of one resolution that still accept points (finest) or merges of finer windows (coarser). */
interface Level {
  resolution: Resolution;
  open: Map<number, WindowTable>;
  /** Windows starting before this are closed: a point for them is late. */
  acceptFrom: number;
  /** Windows starting before this missed data in a restart and are not emitted (see resumeAfter). */
  incompleteBefore: number;
  /** Late points for windows of this level already closed, by window start: handed over at the next close. */
  amends: Map<number, WindowTable>;
}

const emptyPoint = (): StatPoint => ({ time: 0, min: 0, max: 0, sum: 0, first: 0, last: 0, count: 0 });

/**
 * Windows at every resolution. Points enter the finest resolution only; a finest window closes once its end
 * plus the grace period has passed and is then merged, in time order, into the coarser window holding it,
 * which closes the same way. Coarser StatPoints are therefore exact merges of finer ones.
 */
export class Rollups {
  private readonly levels: Level[];
  private readonly finest: Level;
  /** The finest window points went to last: most points of a flush interval hit the same one. */
  private lastTable: WindowTable | undefined;
  private readonly scratchA = emptyPoint();
  private readonly scratchB = emptyPoint();

  constructor(
    resolutions: readonly Resolution[],
    private readonly graceSeconds: number,
    nowSeconds: number,
    private readonly seriesCapacity: () => number,
  ) {
    if (resolutions.length === 0) throw new Error('Rollups needs at least one resolution');
    this.levels = resolutions.map((resolution) => ({
      resolution,
      open: new Map<number, WindowTable>(),
      acceptFrom: windowStart(nowSeconds - graceSeconds, resolution.step),
      incompleteBefore: -Infinity,
      amends: new Map<number, WindowTable>(),
    }));
    this.finest = this.levels[0]!;
  }

  get resolutions(): Resolution[] {
    return this.levels.map((level) => level.resolution);
  }

  /** Whether any open window, at any resolution, has a point of series `id`. */
  holds(id: number): boolean {
    for (const level of this.levels) for (const table of level.open.values()) if (table.rowFor(id) >= 0) return true;
    return false;
  }

  /** Start of the oldest finest window still accepting points. */
  get acceptFrom(): number {
    return this.finest.acceptFrom;
  }

  /** Start of the oldest window of the resolution with `index` still accepting (finest) or merging (coarser). */
  acceptFromAt(index: number): number {
    const level = this.levels.find((l) => l.resolution.index === index);
    if (level === undefined) throw new RangeError(`no resolution with index ${index}`);
    return level.acceptFrom;
  }

  /**
   * After a restart: finest windows from `watermark` on were never flushed and accept points again (replayed
   * input rebuilds them), older ones are late. A coarser window that began before `watermark` lost the finer
   * windows merged into it before the restart, so it is incomplete and is not emitted when it closes.
   */
  resumeAfter(watermark: number): void {
    this.finest.acceptFrom = windowStart(watermark, this.finest.resolution.step);
    for (const level of this.levels) {
      if (level === this.finest) continue;
      level.acceptFrom = windowStart(watermark, level.resolution.step);
      if (level.acceptFrom < watermark) level.incompleteBefore = watermark;
    }
  }

  /** Rows of incomplete coarser windows dropped at close (see resumeAfter), and how many windows. */
  readonly incomplete = { windows: 0, points: 0 };

  /** Points held in windows that are still open, at every resolution. */
  openPoints(): number {
    let points = 0;
    for (const level of this.levels) for (const table of level.open.values()) points += table.rows;
    return points;
  }

  /**
   * A sample whose finest window is already closed: an amend of that window, and of each coarser window holding it
   * that is closed too, handed over at the next close; the first coarser window still open takes it as a point
   * (exactly as if its finer window had held it when merged) and passes it on to the coarser ones as it merges.
   */
  amend(id: number, value: number, timestamp: number): void {
    if (this.amendHeldFrom > this.finest.acceptFrom) this.amendHeldFrom = this.finest.acceptFrom;
    for (const level of this.levels) {
      const start = windowStart(timestamp, level.resolution.step);
      if (start >= level.acceptFrom) {
        // Open here, so open at every coarser resolution too: they get it when this window merges into them.
        this.tableAt(level, start).add(id, value, timestamp);
        return;
      }
      let table = level.amends.get(start);
      if (table === undefined) {
        table = new WindowTable(start, start + level.resolution.step, this.seriesCapacity(), level === this.finest);
        level.amends.set(start, table);
      }
      table.add(id, value, timestamp);
    }
  }

  /** Start of the oldest finest window open when a pending amend was taken (Infinity: none pending). */
  private amendHeldFrom = Infinity;

  /** Adds a sample to its finest window; false (and nothing stored) if that window is already closed. */
  add(id: number, value: number, timestamp: number): boolean {
    const step = this.finest.resolution.step;
    const start = windowStart(timestamp, step);
    let table = this.lastTable;
    if (table === undefined || table.start !== start) {
      if (start < this.finest.acceptFrom) return false;
      table = this.tableAt(this.finest, start);
      this.lastTable = table;
    }
    table.add(id, value, timestamp);
    return true;
  }

  /**
   * Closes every window whose end plus grace is at or before `nowSeconds`, finest first and each resolution
   * in time order, merging each closed window into the next coarser one. Closed windows are appended to `out`.
   */
  close(nowSeconds: number, out: ClosedWindow[]): void {
    for (let i = 0; i < this.levels.length; i++) {
      const level = this.levels[i]!;
      const step = level.resolution.step;
      const acceptFrom = windowStart(nowSeconds - this.graceSeconds, step);
      if (acceptFrom > level.acceptFrom) level.acceptFrom = acceptFrom;
      const closing = [...level.open.keys()].filter((start) => start < level.acceptFrom).sort((a, b) => a - b);
      for (const start of closing) this.closeWindow(i, start, out);
    }
    this.handAmends(out);
  }

  /** Pending amends, after the windows closing with them: a window still queued is written before its amend. */
  private handAmends(out: ClosedWindow[]): void {
    if (this.amendHeldFrom === Infinity) return;
    const amend = { heldFrom: this.amendHeldFrom };
    this.amendHeldFrom = Infinity;
    for (const level of this.levels) {
      const starts = [...level.amends.keys()].sort((a, b) => a - b);
      for (const start of starts) out.push({ resolution: level.resolution, table: level.amends.get(start)!, amend });
      level.amends.clear();
    }
  }

  /** Points in amends not yet handed over. */
  amendPoints(): number {
    let points = 0;
    for (const level of this.levels) for (const table of level.amends.values()) points += table.rows;
    return points;
  }

  /** Closes every open window regardless of time (shutdown): nothing is accepted for them afterwards. */
  closeAll(out: ClosedWindow[]): void {
    for (let i = 0; i < this.levels.length; i++) {
      const level = this.levels[i]!;
      const starts = [...level.open.keys()].sort((a, b) => a - b);
      for (const start of starts) {
        const end = start + level.resolution.step;
        if (end > level.acceptFrom) level.acceptFrom = end;
        this.closeWindow(i, start, out);
      }
    }
    this.handAmends(out);
  }

  /**
   * StatPoints of series `id` at `resolution` from windows still open, start in [from, until), oldest first.
   * A coarser window's point includes finer windows not yet merged into it (the partial merge so far).
   */
  openPointsOf(id: number, resolution: Resolution, from: number, until: number): StatPoint[] {
    const index = this.levels.findIndex((level) => level.resolution.index === resolution.index);
    if (index < 0) return [];
    const points: StatPoint[] = [];
    for (const start of this.openStarts(index, from, until)) {
      const point = emptyPoint();
      this.partialInto(index, start, id, point);
      if (point.count > 0) {
        point.time = start;
        points.push(point);
      }
    }
    return points;
  }

  private closeWindow(index: number, start: number, out: ClosedWindow[]): void {
    const level = this.levels[index]!;
    const table = level.open.get(start)!;
    level.open.delete(start);
    if (table === this.lastTable) this.lastTable = undefined;
    const coarser = this.levels[index + 1];
    if (coarser) this.mergeInto(coarser, table);
    if (start < level.incompleteBefore) {
      this.incomplete.windows++;
      this.incomplete.points += table.rows;
      return;
    }
    out.push({ resolution: level.resolution, table });
  }

  /** Merges every row of a closed finer window into the coarser window holding it (core mergeStatPoint). */
  private mergeInto(coarser: Level, finer: WindowTable): void {
    const target = this.tableAt(coarser, windowStart(finer.start, coarser.resolution.step));
    const a = this.scratchA;
    const b = this.scratchB;
    const seriesOf = finer.seriesByRow();
    for (let row = 0; row < finer.rows; row++) {
      const id = seriesOf[row]!;
      finer.readRow(row, b);
      if (!target.read(id, a)) a.count = 0;
      mergeStatPoint(a, b);
      target.write(id, a);
    }
  }

  private tableAt(level: Level, start: number): WindowTable {
    let table = level.open.get(start);
    if (table === undefined) {
      // The finest windows take points one by one, most of them a series' only point there: tables of singles.
      table = new WindowTable(start, start + level.resolution.step, this.seriesCapacity(), level === this.finest);
      level.open.set(start, table);
    }
    return table;
  }

  /** Starts of level `index` windows in [from, until) holding open data at that level or any finer one. */
  private openStarts(index: number, from: number, until: number): number[] {
    const step = this.levels[index]!.resolution.step;
    const starts = new Set<number>();
    for (let k = 0; k <= index; k++)
      for (const start of this.levels[k]!.open.keys()) {
        const w = windowStart(start, step);
        if (w >= from && w < until) starts.add(w);
      }
    return [...starts].sort((a, b) => a - b);
  }

  /** Merges, in time order, level `index`'s window at `start` and every finer open window inside it. */
  private partialInto(index: number, start: number, id: number, into: StatPoint): void {
    const level = this.levels[index]!;
    const table = level.open.get(start);
    const part = emptyPoint();
    if (table?.read(id, part)) mergeStatPoint(into, part);
    if (index === 0) return;
    for (const sub of this.openStarts(index - 1, start, start + level.resolution.step)) {
      const subPoint = emptyPoint();
      this.partialInto(index - 1, sub, id, subPoint);
      mergeStatPoint(into, subPoint);
    }
  }
}
