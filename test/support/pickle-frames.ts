/** Carbon pickle frames as carbon-relay sends them (protocol 2): a 4-byte length, then `[(path, (ts, value)), ...]`. */
export function pickleFrame(points: readonly { path: string; timestamp: number; value: number }[]): Buffer {
  const parts: Buffer[] = [Buffer.from([0x80, 0x02, 0x5d, 0x28])]; // PROTO 2, EMPTY_LIST, MARK
  for (const { path, timestamp, value } of points) {
    const name = Buffer.from(path, 'utf8');
    if (name.length > 255) throw new RangeError('test frames hold paths of at most 255 bytes');
    const ts = Buffer.alloc(5);
    ts[0] = 0x4a; // BININT
    ts.writeInt32LE(timestamp, 1);
    const float = Buffer.alloc(9);
    float[0] = 0x47; // BINFLOAT
    float.writeDoubleBE(value, 1);
    // SHORT_BINUNICODE path, ts, value, TUPLE2, TUPLE2
    parts.push(Buffer.from([0x8c, name.length]), name, ts, float, Buffer.from([0x86, 0x86]));
  }
  parts.push(Buffer.from([0x65, 0x2e])); // APPENDS, STOP
  const payload = Buffer.concat(parts);
  const header = Buffer.alloc(4);
  header.writeUInt32BE(payload.length, 0);
  return Buffer.concat([header, payload]);
}
