/**
 * The safe pickle machine and the pickle stream framer. Fixed frames below were made by python3's pickle.dumps of
 * `[("a.b.c", (1700000000, 1.5)), ["x.y", [1700000001, -2]]]` with protocols 0 to 5 (pickle.external.test.ts
 * compares many more with python itself).
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_PICKLE_LIMITS, PickleFramer, parsePickleFrame, plaintextLine } from '@carillon/protocols';

const FRAMES: Record<number, string> = {
  0: '286c70300a2856612e622e630a70310a2849313730303030303030300a46312e350a7470320a7470330a61286c70340a56782e790a70350a61286c70360a49313730303030303030310a61492d320a6161612e',
  1: '5d710028285805000000612e622e637101284a00f15365473ff80000000000007471027471035d7104285803000000782e7971055d7106284a01f153654afeffffff6565652e',
  2: '80025d7100285805000000612e622e6371014a00f15365473ff80000000000008671028671035d7104285803000000782e7971055d7106284a01f153654afeffffff6565652e',
  3: '80035d7100285805000000612e622e6371014a00f15365473ff80000000000008671028671035d7104285803000000782e7971055d7106284a01f153654afeffffff6565652e',
  4: '80049537000000000000005d94288c05612e622e63944a00f15365473ff8000000000000869486945d94288c03782e79945d94284a01f153654afeffffff6565652e',
  5: '80059537000000000000005d94288c05612e622e63944a00f15365473ff8000000000000869486945d94288c03782e79945d94284a01f153654afeffffff6565652e',
};
const EXPECTED = [
  { path: 'a.b.c', timestamp: 1700000000, value: 1.5 },
  { path: 'x.y', timestamp: 1700000001, value: -2 },
];
const limits = DEFAULT_PICKLE_LIMITS;
const hex = (text: string): Buffer => Buffer.from(text, 'hex');

describe('parsePickleFrame', () => {
  for (const [protocol, frame] of Object.entries(FRAMES))
    it(`reads protocol ${protocol} as carbon does`, () => {
      expect(parsePickleFrame(hex(frame), limits)).toEqual(EXPECTED);
    });

  it('refuses the opcodes that run code, whatever comes after', () => {
    // cos\nsystem\n(S'echo hi'\ntR.  — GLOBAL os.system, REDUCE
    expect(parsePickleFrame(Buffer.from("cos\nsystem\n(S'echo hi'\ntR.", 'latin1'), limits)).toBe('unsafe_opcode');
    // A dict (EMPTY_DICT '}') is no metric list either, and not an opcode carbon's senders use.
    expect(parsePickleFrame(Buffer.from('}.', 'latin1'), limits)).toBe('unsafe_opcode');
  });

  it('refuses malformed pickles: truncated, no STOP, stack misuse, a bad memo key', () => {
    const full = hex(FRAMES[2]!);
    expect(parsePickleFrame(full.subarray(0, full.length - 1), limits)).toBe('malformed_pickle');
    expect(parsePickleFrame(full.subarray(0, 20), limits)).toBe('malformed_pickle');
    expect(parsePickleFrame(Buffer.from('a.', 'latin1'), limits)).toBe('malformed_pickle');
    expect(parsePickleFrame(Buffer.from(']h\x07.', 'latin1'), limits)).toBe('malformed_pickle');
    expect(parsePickleFrame(Buffer.from(']].', 'latin1'), limits)).toBe('malformed_pickle');
  });

  it('refuses well-formed pickles that are not a list of (path, (timestamp, value))', () => {
    expect(parsePickleFrame(Buffer.from('K\x05.', 'latin1'), limits)).toBe('not_a_metric_list');
    // [("a", 1)]: the datapoint is no pair
    expect(parsePickleFrame(Buffer.from(']\x8c\x01aK\x01\x86a.', 'latin1'), limits)).toBe('not_a_metric_list');
    // [("a", ("x", 1))]: float("x") raises in carbon
    expect(parsePickleFrame(Buffer.from(']\x8c\x01a\x8c\x01xK\x01\x86\x86a.', 'latin1'), limits)).toBe(
      'not_a_metric_list',
    );
  });

  it('takes numeric strings and booleans as carbon float()s them', () => {
    // [("a", ("1700000000", True))]
    const frame = Buffer.from(']\x8c\x01a\x8c\x0a1700000000\x88\x86\x86a.', 'latin1');
    expect(parsePickleFrame(frame, limits)).toEqual([{ path: 'a', timestamp: 1700000000, value: 1 }]);
  });

  it('bounds a frame by items and by nesting, and a list that holds itself ends', () => {
    // [(.)] * 5 with maxItems 3
    const five = Buffer.from(`](${'](e'.repeat(5)}e.`, 'latin1');
    expect(parsePickleFrame(five, { maxItems: 3 })).toBe('too_many_items');
    // A list nested four deep is no metric list and is refused before it grows.
    expect(parsePickleFrame(Buffer.from(']]]]aaa.', 'latin1'), limits)).toBe('too_many_items');
    // ]q\x00h\x00a. — a list appended to itself through the memo.
    expect(parsePickleFrame(Buffer.from(']q\x00h\x00a.', 'latin1'), limits)).toBe('too_many_items');
  });
});

describe('PickleFramer', () => {
  const frameOf = (payload: Buffer): Buffer => {
    const header = Buffer.alloc(4);
    header.writeUInt32BE(payload.length, 0);
    return Buffer.concat([header, payload]);
  };
  const run = (chunks: Buffer[], max = limits) => {
    const lines: string[] = [];
    const rejects: string[] = [];
    const framer = new PickleFramer(
      max,
      (buf, start, end) => lines.push(buf.toString('utf8', start, end)),
      (reason) => rejects.push(reason),
    );
    for (const chunk of chunks) framer.push(chunk);
    framer.end();
    return { lines, rejects };
  };

  it('hands every point on as a plaintext line, however the stream is cut', () => {
    const stream = Buffer.concat([frameOf(hex(FRAMES[2]!)), frameOf(hex(FRAMES[0]!))]);
    const expected = [...EXPECTED, ...EXPECTED].map((p) => `${p.path} ${p.value} ${p.timestamp}`);
    for (let cut = 0; cut <= stream.length; cut++) {
      const { lines, rejects } = run([stream.subarray(0, cut), stream.subarray(cut)]);
      expect(lines, `cut at ${cut}`).toEqual(expected);
      expect(rejects).toEqual([]);
    }
    const { lines } = run(Array.from(stream, (byte) => Buffer.from([byte])));
    expect(lines).toEqual(expected);
  });

  it('skips a frame past the size limit unread, refuses it, and reads the next one', () => {
    const big = frameOf(Buffer.alloc(500, 0x41));
    const { lines, rejects } = run([big, frameOf(hex(FRAMES[3]!))], { maxFrameBytes: 200, maxItems: 10 });
    expect(rejects).toEqual(['frame_too_large']);
    expect(lines).toHaveLength(2);
  });

  it('refuses a bad frame alone, and one cut short at the end', () => {
    const bad = frameOf(Buffer.from("cos\nsystem\n(S'x'\ntR.", 'latin1'));
    const good = frameOf(hex(FRAMES[4]!));
    const { lines, rejects } = run([bad, good, good.subarray(0, 10)]);
    expect(rejects).toEqual(['unsafe_opcode', 'truncated_frame']);
    expect(lines).toHaveLength(2);
  });

  it('makes a path with whitespace or control characters one the Graphite parser refuses, not a split line', () => {
    expect(plaintextLine({ path: 'a b\nc', timestamp: 1, value: 2 })).toBe('a\u0001b\u0001c 2 1');
  });
});
