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
  /** The values of one series handed to JSON.stringify (a list of doubles from the start), and their slots. */
  private readonly flat: number[] = [0.5];
  private readonly slots: number[] = [];
  /** That JSON.stringify's text as bytes. */
  private scratch = Buffer.alloc(0);

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
   * JSON.stringify does not write as graphite-web does). The values are written by one JSON.stringify of a flat
   * list of doubles (V8 writes the numbers into one string, no string per value; a list of [v, t] pairs costs
   * twice as much, most of it per pair), then interleaved here with the time axis's kept texts.
   */
  finiteDatapoints(values: Float64Array, count: number, start: number, stride: number, skipNull: boolean): void {
    const { flat, slots } = this;
    flat.length = 0;
    slots.length = 0;
    for (let i = 0; i < count; i++) {
      const v = values[i]!;
      if (skipNull && Number.isNaN(v)) continue;
      flat.push(v);
      slots.push(i);
    }
    if (slots.length === 0) return this.ascii('[]');
    const text = JSON.stringify(flat);
    // as bytes first: one native copy, then a loop over bytes (charCodeAt per character costs several times it)
    if (this.scratch.length < text.length) this.scratch = Buffer.allocUnsafeSlow(2 * text.length);
    const written = this.scratch.write(text, 0, 'latin1');
    const axis = this.timeAxis(start, stride, slots[slots.length - 1]! + 1);
    // each point adds `[`, `,`, its time and `]` to its value's text and comma
    this.reserve(written + 3 * slots.length + axis.ends[slots[slots.length - 1]!]!);
    this.length = interleave(this.scratch, slots, axis.bytes, axis.ends, this.bytes, this.length);
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

/**
 * `[[v0,t0],[v1,t1],...]` into `out` at `at` from `text` (the bytes of JSON.stringify of the values,
 * `[v0,v1,...]`, none empty) and the times of `slots` (`ends[i]`: where time i's text ends in `times`); returns the end written.
 */
function interleave(
  text: Uint8Array,
  slots: readonly number[],
  times: Uint8Array,
  ends: readonly number[],
  out: Uint8Array,
  at: number,
): number {
  let p = 1; // past the list's `[`
  out[at++] = 0x5b;
  for (let k = 0; k < slots.length; k++) {
    if (k > 0) out[at++] = 0x2c;
    out[at++] = 0x5b;
    // a number's text has no comma or bracket: it ends at the next `,` (or the final `]`)
    for (let c = text[p++]!; c !== 0x2c && c !== 0x5d; c = text[p++]!) out[at++] = c;
    out[at++] = 0x2c;
    const slot = slots[k]!;
    for (let t = slot === 0 ? 0 : ends[slot - 1]!, stop = ends[slot]!; t < stop; t++) out[at++] = times[t]!;
    out[at++] = 0x5d;
  }
  out[at++] = 0x5d;
  return at;
}

/** JSON.stringify's text of a finite number (String's: -0 as 0), NaN as null, the infinities as ±1e9999. */
function numberText(v: number): string {
  if (Number.isFinite(v)) return String(v);
  return Number.isNaN(v) ? 'null' : v > 0 ? '1e9999' : '-1e9999';
}
