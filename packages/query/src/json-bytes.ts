/**
 * A growing byte buffer a large JSON answer is written into piece by piece: no string per point, no rope of
 * millions of parts to flatten and encode at the end (what a 1,000-series answer cost in garbage collection).
 */
export class JsonBytes {
  private bytes = new Uint8Array(1 << 16);
  private length = 0;

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
    if (Number.isSafeInteger(v) && v >= 0) this.digits(v);
    else if (Number.isFinite(v)) this.ascii(String(v));
    else this.ascii(Number.isNaN(v) ? 'null' : v > 0 ? '1e9999' : '-1e9999');
  }

  /** The bytes written (a view of the buffer). */
  result(): Buffer {
    return Buffer.from(this.bytes.buffer, 0, this.length);
  }

  /** A safe non-negative integer's decimal digits, as String() writes them (-0 as 0). */
  private digits(v: number): void {
    let count = 1;
    for (let rest = v; rest >= 10; rest = Math.floor(rest / 10)) count++;
    this.reserve(count);
    let at = this.length + count;
    let rest = v;
    do {
      this.bytes[--at] = 48 + (rest % 10);
      rest = Math.floor(rest / 10);
    } while (rest > 0);
    this.length += count;
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
