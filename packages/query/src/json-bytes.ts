/**
 * A growing byte buffer a large JSON answer is written into piece by piece: no string per point, no rope of
 * millions of parts to flatten and encode at the end (what a 1,000-series answer cost in garbage collection).
 */
export class JsonBytes {
  private bytes = new Uint8Array(1 << 16);
  private length = 0;
  private axis: { start: number; stride: number; texts: string[] } = { start: NaN, stride: NaN, texts: [] };

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
    const axis = this.axis;
    if (axis.start !== start || axis.stride !== stride) this.axis = { start, stride, texts: [] };
    const texts = this.axis.texts;
    // filled in order from 0: a series' points are written in order
    while (texts.length <= i) texts.push(numberText(start + texts.length * stride));
    this.ascii(texts[i]!);
  }

  /** The bytes written (a view of the buffer). */
  result(): Buffer {
    return Buffer.from(this.bytes.buffer, 0, this.length);
  }

  private reserve(extra: number): void {
    if (this.length + extra <= this.bytes.length) return;
    let size = this.bytes.length * 2;
    while (size < this.length + extra) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.bytes.subarray(0, this.length));
    this.bytes = grown;
  }
}

/** JSON.stringify's text of a finite number (String's: -0 as 0), NaN as null, the infinities as ±1e9999. */
function numberText(v: number): string {
  if (Number.isFinite(v)) return String(v);
  return Number.isNaN(v) ? 'null' : v > 0 ? '1e9999' : '-1e9999';
}
