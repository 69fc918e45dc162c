/**
 * A batch of Graphite lines read ahead of aggregation, on a listener thread (listener-thread.ts): a row per line,
 * in the order forEachLineUnbounded gives them, with where the line lies and, for a common line
 * (graphite-bytes.ts), its path's range and hash, its value and its time. The main thread aggregates from the rows
 * instead of reading the lines again (LineIngest.ingestBatch). The log keeps the lines and a replay reads them as
 * ever, to the same points: a row is what parseCommonGraphiteLine makes of its line, but for the time of a line
 * without one, which the receiver stamps (NaN here), as it stamps a line it reads itself.
 */
import { forEachLineUnbounded, parseCommonGraphiteLine, CommonGraphiteLine } from '@carillon/protocols';

/** Doubles a row takes: line start, line end, key start, key end (-1: not a common line), key hash, value, time. */
export const GRAPHITE_ROW = 7;

/**
 * The rows of `lines`, newline-separated Graphite lines, written into `into` (a spare from an earlier batch) and
 * into a larger buffer when it is too small: a view of the rows, over the whole buffer written.
 */
export function readGraphiteRows(
  lines: Buffer,
  into = new Float64Array((Math.ceil(lines.length / 32) + 1) * GRAPHITE_ROW),
): Float64Array<ArrayBuffer> {
  let rows: Float64Array<ArrayBuffer> = into as Float64Array<ArrayBuffer>;
  const line = new CommonGraphiteLine();
  let row = 0;
  forEachLineUnbounded(lines, (buf, start, end) => {
    if (row + GRAPHITE_ROW > rows.length) {
      const grown = new Float64Array(Math.max(rows.length * 2, GRAPHITE_ROW * 64));
      grown.set(rows);
      rows = grown;
    }
    rows[row] = start;
    rows[row + 1] = end;
    if (parseCommonGraphiteLine(buf, start, end, NaN, line)) {
      rows[row + 2] = line.keyStart;
      rows[row + 3] = line.keyEnd;
      rows[row + 4] = line.keyHash;
      rows[row + 5] = line.value;
      rows[row + 6] = line.timestamp;
    } else rows[row + 3] = -1;
    row += GRAPHITE_ROW;
  });
  return rows.subarray(0, row);
}

/**
 * Reads the row at `row` into `out` and answers true when its line is a common one, stamped `receivedAtSeconds`
 * if it has no time; false for any other line (the caller parses it).
 */
export function readCommonRow(
  rows: Float64Array,
  row: number,
  receivedAtSeconds: number,
  out: CommonGraphiteLine,
): boolean {
  if (rows[row + 3]! < 0) return false;
  out.keyStart = rows[row + 2]!;
  out.keyEnd = rows[row + 3]!;
  out.keyHash = rows[row + 4]!;
  out.value = rows[row + 5]!;
  const timestamp = rows[row + 6]!;
  out.timestamp = Number.isNaN(timestamp) ? receivedAtSeconds : timestamp;
  return true;
}
