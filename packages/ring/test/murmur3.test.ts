import { describe, expect, it } from 'vitest';
import { murmur3, murmur3IfAscii, murmur3String } from '@carillon/ring';

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

// Values from SMHasher's MurmurHash3_x86_32 (compiled from the C reference) and published test vectors.
const vectors: Array<[string, number, number]> = [
  ['', 0, 0],
  ['', 1, 0x514e28b7],
  ['', 0xffffffff, 0x81f16f39],
  ['', 0x9747b28c, 0xebb6c228],
  ['hello', 0, 0x248bfa47],
  ['hello', 1, 0xbb4abcad],
  ['The quick brown fox jumps over the lazy dog', 0, 0x2e4ff723],
  ['The quick brown fox jumps over the lazy dog', 0x9747b28c, 0x2fa826cd],
  ['a', 0x9747b28c, 0x7fa09ea6],
  ['ab', 0x9747b28c, 0x74875592],
  ['abc', 0x9747b28c, 0xc84a62dd],
  ['abcd', 0x9747b28c, 0xf0478627],
  ['a', 0, 0x3c2569b2],
  ['ab', 0, 0x9bbfd75f],
  ['abc', 0, 0xb3dd93fa],
  ['abcd', 0, 0x43ed676a],
  ['Hello, world!', 1234, 0xfaf6cdb3],
  ['servers.web1.cpu.user', 0, 0x4af24763],
  ['ππππππππ', 0x9747b28c, 0xd58063c1],
  ['ππππππππ', 0, 0xec72b6e8],
  ['héllo.wörld', 0, 0xdebf9ace],
  ['😀 emoji', 0, 0x91ea08be],
];

describe('murmur3 (MurmurHash3 x86_32)', () => {
  it.each(vectors)('%j seed %i is %i', (text, seed, expected) => {
    expect(murmur3String(text, seed)).toBe(expected);
    expect(murmur3(utf8(text), 0, utf8(text).length, seed)).toBe(expected);
  });

  it.each([
    [[0x21, 0x43, 0x65, 0x87], 0, 0xf55b516b],
    [[0x21, 0x43, 0x65, 0x87], 0x5082edee, 0x2362f9de],
    [[0x21, 0x43, 0x65], 0, 0x7e4a8634],
    [[0x21, 0x43], 0, 0xa0f7b07a],
    [[0x21], 0, 0x72661cf4],
    [[0xff, 0xff, 0xff, 0xff], 0, 0x76293b50],
    [[0, 0, 0, 0], 0, 0x2362f9de],
    [[0, 0, 0], 0, 0x85f0b427],
    [[0, 0], 0, 0x30f4c306],
    [[0], 0, 0x514e28b7],
  ])('bytes %j seed %i (tails of 0..3 bytes) is %i', (bytes, seed, expected) => {
    expect(murmur3(Uint8Array.from(bytes), 0, bytes.length, seed)).toBe(expected);
  });

  it("passes SMHasher's verification test (0xB0F57EE3)", () => {
    // Hash keys {}, {0}, {0,1}, ... {0..254} with seed 256 - length, then hash the concatenated results.
    const key = new Uint8Array(256);
    const hashes = new Uint8Array(1024);
    const view = new DataView(hashes.buffer);
    for (let i = 0; i < 256; i++) {
      key[i] = i;
      view.setUint32(i * 4, murmur3(key, 0, i, 256 - i), true);
    }
    expect(murmur3(hashes, 0, hashes.length, 0)).toBe(0xb0f57ee3);
  });

  it('hashes a range inside a larger buffer exactly as the range alone', () => {
    const line = utf8('servers.web1.cpu.user 42 1700000000\n');
    const keyEnd = line.indexOf(0x20);
    expect(murmur3(line, 0, keyEnd)).toBe(murmur3String('servers.web1.cpu.user'));
    const offset = utf8('xxservers.web1.cpu.useryy');
    expect(murmur3(offset, 2, offset.length - 2)).toBe(0x4af24763);
  });

  it('hashes strings longer than its scratch buffer, and shorter ones after', () => {
    const long = 'a.'.repeat(2000) + 'π';
    expect(murmur3String(long)).toBe(murmur3(utf8(long)));
    expect(murmur3String('hello')).toBe(0x248bfa47);
  });
});

describe('murmur3IfAscii', () => {
  it('is murmur3 for ASCII ranges of every length and -1 once any byte is >= 0x80', () => {
    const text = Buffer.from('servers.web-01.cpu.user;dc=eu ~!');
    for (let start = 0; start < 4; start++)
      for (let end = start; end <= text.length; end++)
        expect(murmur3IfAscii(text, start, end)).toBe(murmur3(text, start, end));
    for (let at = 0; at < 9; at++) {
      const bytes = Buffer.from('abcdefghi');
      bytes[at] = 0x80 | at;
      expect(murmur3IfAscii(bytes, 0, bytes.length), `byte ${at}`).toBe(-1);
      // Outside the range it does not count.
      if (at > 0) expect(murmur3IfAscii(bytes, 0, at)).toBe(murmur3(bytes, 0, at));
    }
  });
});
