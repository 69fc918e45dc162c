/**
 * The two binary encodings graphite-web's remote finder reads (`format=pickle`, `format=msgpack`), for the plain
 * values it sends: strings, integers, floats, booleans, None, lists and string-keyed maps. Floats and integers are
 * told apart by the caller (Python keeps both), so a number is written as the kind it is wrapped as.
 */
export type WireValue = string | boolean | null | WireInt | WireFloat | WireValue[] | { [key: string]: WireValue };

export class WireInt {
  constructor(readonly value: number) {}
}
export class WireFloat {
  constructor(readonly value: number) {}
}

/** Pickle protocol 2, which every Python 3 unpickles. */
export function encodePickle(value: WireValue): Buffer {
  const chunks: Buffer[] = [Buffer.from([0x80, 2])];
  const write = (v: WireValue): void => {
    if (v === null) chunks.push(Buffer.from('N'));
    else if (v === true) chunks.push(Buffer.from([0x88]));
    else if (v === false) chunks.push(Buffer.from([0x89]));
    else if (typeof v === 'string') {
      const bytes = Buffer.from(v, 'utf8');
      const header = Buffer.alloc(5);
      header.write('X', 0, 'latin1');
      header.writeUInt32LE(bytes.length, 1);
      chunks.push(header, bytes);
    } else if (v instanceof WireInt) {
      if (Number.isSafeInteger(v.value) && v.value >= -0x80000000 && v.value <= 0x7fffffff) {
        const b = Buffer.alloc(5);
        b.write('J', 0, 'latin1');
        b.writeInt32LE(v.value, 1);
        chunks.push(b);
      } else {
        // LONG1: little-endian two's complement of the integer
        const b = Buffer.alloc(10);
        b.write('\x8a', 0, 'latin1');
        b.writeUInt8(8, 1);
        b.writeBigInt64LE(BigInt(Math.trunc(v.value)), 2);
        chunks.push(b);
      }
    } else if (v instanceof WireFloat) {
      const b = Buffer.alloc(9);
      b.write('G', 0, 'latin1');
      b.writeDoubleBE(v.value, 1);
      chunks.push(b);
    } else if (Array.isArray(v)) {
      chunks.push(Buffer.from(']'));
      if (v.length > 0) {
        chunks.push(Buffer.from('('));
        v.forEach(write);
        chunks.push(Buffer.from('e'));
      }
    } else {
      chunks.push(Buffer.from('}'));
      const entries = Object.entries(v);
      if (entries.length > 0) {
        chunks.push(Buffer.from('('));
        for (const [key, item] of entries) {
          write(key);
          write(item);
        }
        chunks.push(Buffer.from('u'));
      }
    }
  };
  write(value);
  chunks.push(Buffer.from('.'));
  return Buffer.concat(chunks);
}

/** MessagePack, as graphite-web's umsgpack packs (str as UTF-8 str, doubles as float 64). */
export function encodeMsgpack(value: WireValue): Buffer {
  const chunks: Buffer[] = [];
  const sized = (length: number, fix: number, fixLimit: number, c8: number | null, c16: number, c32: number) => {
    if (length < fixLimit) chunks.push(Buffer.from([fix | length]));
    else if (c8 !== null && length < 0x100) chunks.push(Buffer.from([c8, length]));
    else if (length < 0x10000) {
      const b = Buffer.alloc(3);
      b[0] = c16;
      b.writeUInt16BE(length, 1);
      chunks.push(b);
    } else {
      const b = Buffer.alloc(5);
      b[0] = c32;
      b.writeUInt32BE(length, 1);
      chunks.push(b);
    }
  };
  const write = (v: WireValue): void => {
    if (v === null) chunks.push(Buffer.from([0xc0]));
    else if (v === true) chunks.push(Buffer.from([0xc3]));
    else if (v === false) chunks.push(Buffer.from([0xc2]));
    else if (typeof v === 'string') {
      const bytes = Buffer.from(v, 'utf8');
      sized(bytes.length, 0xa0, 32, 0xd9, 0xda, 0xdb);
      chunks.push(bytes);
    } else if (v instanceof WireInt) {
      const n = v.value;
      if (n >= 0 && n < 128) chunks.push(Buffer.from([n]));
      else if (n < 0 && n >= -32) chunks.push(Buffer.from([n & 0xff]));
      else if (n >= 0 && n <= 0xffffffff) {
        const b = Buffer.alloc(5);
        b[0] = 0xce;
        b.writeUInt32BE(n, 1);
        chunks.push(b);
      } else if (n < 0 && n >= -0x80000000) {
        const b = Buffer.alloc(5);
        b[0] = 0xd2;
        b.writeInt32BE(n, 1);
        chunks.push(b);
      } else {
        const b = Buffer.alloc(9);
        b[0] = 0xd3;
        b.writeBigInt64BE(BigInt(Math.trunc(n)), 1);
        chunks.push(b);
      }
    } else if (v instanceof WireFloat) {
      const b = Buffer.alloc(9);
      b[0] = 0xcb;
      b.writeDoubleBE(v.value, 1);
      chunks.push(b);
    } else if (Array.isArray(v)) {
      sized(v.length, 0x90, 16, null, 0xdc, 0xdd);
      v.forEach(write);
    } else {
      const entries = Object.entries(v);
      sized(entries.length, 0x80, 16, null, 0xde, 0xdf);
      for (const [key, item] of entries) {
        write(key);
        write(item);
      }
    }
  };
  write(value);
  return Buffer.concat(chunks);
}
