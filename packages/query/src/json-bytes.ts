/**
 * A growing byte buffer a large JSON answer is written into piece by piece: no string per point, no rope of
 * millions of parts to flatten and encode at the end (what a 1,000-series answer cost in garbage collection).
 */
export class JsonBytes {
  private bytes: Buffer;
  private length = 0;
  /** The texts of one time axis as bytes, `ends[i]` the end of time i's text: shared by the series on the axis. */
  private axis: { start: number; stride: number; bytes: Uint8Array; ends: number[] } = {
    start: NaN,
    stride: NaN,
    bytes: new Uint8Array(0),
    ends: [],
  };
  /** The [value, time] pairs of one series handed to JSON.stringify, and the pairs kept for the next series. */
  private readonly pairs: number[][] = [];
  private readonly pool: number[][] = [];

  /**
   * `expectedBytes`: what the answer is likely to take, allocated at once (growing by doubling from 64 KB to 32 MB
   * copies and zero-fills as much again); a larger answer still grows.
   */
  constructor(expectedBytes = 0) {
    // not zero-filled (every byte read is written first); its own ArrayBuffer, never Buffer's shared pool
    this.bytes = Buffer.allocUnsafeSlow(Math.max(1 << 16, Math.min(expectedBytes, MAX_EXPECTED_BYTES)));
  }

  /** A string known to be ASCII (JSON punctuation, numbers). */
  ascii(text: string): void {
    this.reserve(text.length);
    const { bytes } = this;
    let at = this.length;
    for (let i = 0; i < text.length; i++) bytes[at++] = text.charCodeAt(i);
    this.length = at;
  }

  /** Any text, as UTF-8. */
  text(text: string): void {
    const encoded = Buffer.from(text, 'utf8');
    this.reserve(encoded.length);
    this.bytes.set(encoded, this.length);
    this.length += encoded.length;
  }

  /** A number as graphiteJson writes it: NaN as null, infinities as ±1e9999, others as JSON.stringify does. */
  number(v: number): void {
    this.ascii(numberText(v));
  }

  /**
   * The time `start + i × stride`, as number() writes it: the texts are kept for the next series on the same
   * axis (a dashboard's series share one), where converting a ten-digit time costs more than copying it.
   */
  time(start: number, stride: number, i: number): void {
    if (!Number.isFinite(start + stride)) return this.number(start + i * stride);
    const axis = this.timeAxis(start, stride, i + 1);
    const from = i === 0 ? 0 : axis.ends[i - 1]!;
    const to = axis.ends[i]!;
    this.reserve(to - from);
    this.bytes.set(axis.bytes.subarray(from, to), this.length);
    this.length += to - from;
  }

  /**
   * `[[v, t], ...]` for the first `count` of `values` at the times `start + i × stride`, as number() and time()
   * would write them (NaN as null; `skipNull` leaves those points out), for values with no infinity (whose text
   * JSON.stringify does not write as graphite-web does). One JSON.stringify per series over reused pairs: V8
   * writes the numbers into one string with no string per value, copied here in one native call.
   */
  finiteDatapoints(values: Float64Array, count: number, start: number, stride: number, skipNull: boolean): void {
    const { pairs, pool } = this;
    pairs.length = 0;
    for (let i = 0; i < count; i++) {
      const v = values[i]!;
      if (skipNull && Number.isNaN(v)) continue;
      let pair = pool[pairs.length];
      if (pair === undefined) pool.push((pair = [0.5, 0.5])); // a list of doubles from the start
      pair[0] = v;
      pair[1] = start + i * stride;
      pairs.push(pair);
    }
    const text = JSON.stringify(pairs);
    this.reserve(text.length);
    this.length += this.bytes.write(text, this.length, 'latin1');
  }

  /** The bytes written (a view of the buffer). */
  result(): Buffer {
    return Buffer.from(this.bytes.buffer, 0, this.length);
  }

  /** The axis of (start, stride) with at least `count` texts (finite start and stride). */
  private timeAxis(start: number, stride: number, count: number): JsonBytes['axis'] {
    let axis = this.axis;
    if (axis.start !== start || axis.stride !== stride)
      this.axis = axis = { start, stride, bytes: new Uint8Array(Math.max(64, count * 11)), ends: [] };
    const ends = axis.ends;
    // filled in order from 0: a series' points are written in order
    while (ends.length < count) {
      const text = numberText(start + ends.length * stride);
      let at = ends.length === 0 ? 0 : ends[ends.length - 1]!;
      if (at + text.length > axis.bytes.length) {
        const grown = new Uint8Array(Math.max(2 * axis.bytes.length, at + text.length));
        grown.set(axis.bytes.subarray(0, at));
        axis.bytes = grown;
      }
      for (let i = 0; i < text.length; i++) axis.bytes[at++] = text.charCodeAt(i);
      ends.push(at);
    }
    return axis;
  }

  private reserve(extra: number): void {
    if (this.length + extra <= this.bytes.length) return;
    let size = this.bytes.length * 2;
    while (size < this.length + extra) size *= 2;
    const grown = Buffer.allocUnsafeSlow(size);
    grown.set(this.bytes.subarray(0, this.length));
    this.bytes = grown;
  }
}

/** The most allocated up front on an estimate; beyond it the buffer grows as written. */
const MAX_EXPECTED_BYTES = 64 << 20;

/** JSON.stringify's text of a finite number (String's: -0 as 0), NaN as null, the infinities as ±1e9999. */
function numberText(v: number): string {
  if (Number.isFinite(v)) return String(v);
  return Number.isNaN(v) ? 'null' : v > 0 ? '1e9999' : '-1e9999';
}
