import { describe, expect, it } from 'vitest';
import { LineSplitter, decodeLine, splitDatagram, type RejectReason } from '@carillon/protocols';

interface Collected {
  lines: string[];
  rejects: RejectReason[];
}

function collector(maxLineLength: number): { splitter: LineSplitter; got: Collected } {
  const got: Collected = { lines: [], rejects: [] };
  const splitter = new LineSplitter(
    maxLineLength,
    (buf, start, end) => got.lines.push(decodeLine(buf, start, end)),
    (reason) => got.rejects.push(reason),
  );
  return { splitter, got };
}

/** Feeds `bytes` cut at the given offsets, then ends the stream. */
function feed(maxLineLength: number, bytes: Buffer, cuts: number[]): Collected {
  const { splitter, got } = collector(maxLineLength);
  let previous = 0;
  for (const cut of [...cuts, bytes.length]) {
    splitter.push(bytes.subarray(previous, cut));
    previous = cut;
  }
  splitter.end();
  return got;
}

describe('LineSplitter', () => {
  const text = 'a.b 1 2\r\nc.d 3 4\n\nhé 5 6\r\n\r\nlast 7 8';
  const bytes = Buffer.from(text);
  const expected = ['a.b 1 2', 'c.d 3 4', 'hé 5 6', 'last 7 8'];

  it('delivers the same lines whatever the read boundaries (one cut at every byte)', () => {
    for (let cut = 0; cut <= bytes.length; cut++) expect(feed(100, bytes, [cut]).lines, `cut ${cut}`).toEqual(expected);
  });

  it('delivers the same lines whatever the read boundaries (two cuts at every pair of bytes)', () => {
    for (let a = 0; a <= bytes.length; a++)
      for (let b = a; b <= bytes.length; b++)
        expect(feed(100, bytes, [a, b]).lines, `cuts ${a},${b}`).toEqual(expected);
  });

  it('delivers the same lines fed one byte at a time', () => {
    const cuts = Array.from({ length: bytes.length }, (_, i) => i);
    expect(feed(100, bytes, cuts)).toEqual({ lines: expected, rejects: [] });
  });

  it('holds the final unterminated line until end()', () => {
    const { splitter, got } = collector(100);
    splitter.push(Buffer.from('x 1 2\ny 3'));
    expect(got.lines).toEqual(['x 1 2']);
    splitter.push(Buffer.from(' 4'));
    expect(got.lines).toEqual(['x 1 2']);
    splitter.end();
    expect(got.lines).toEqual(['x 1 2', 'y 3 4']);
  });

  it('leaves a delivered line unchanged until the turn ends, though the same read carries the next one', () => {
    const views: { buf: Buffer; start: number; end: number }[] = [];
    const splitter = new LineSplitter(
      100,
      (buf, start, end) => views.push({ buf, start, end }),
      () => undefined,
    );
    // Each read ends the line carried from the one before and begins another, carried in turn.
    for (const read of ['one 1', ' 2\ntwo 3', ' 4\nthree 5', ' 6\n']) splitter.push(Buffer.from(read));
    expect(views.map(({ buf, start, end }) => decodeLine(buf, start, end))).toEqual([
      'one 1 2',
      'two 3 4',
      'three 5 6',
    ]);
  });

  describe('over-long lines', () => {
    const max = 10;
    const input = Buffer.from(
      `${'x'.repeat(10)}\n${'y'.repeat(11)}\n${'z'.repeat(10)}\r\n${'w'.repeat(40)}\nok\n${'v'.repeat(11)}\r\nend`,
    );
    const wanted: Collected = {
      lines: ['x'.repeat(10), 'z'.repeat(10), 'ok', 'end'],
      rejects: ['line_too_long', 'line_too_long', 'line_too_long'],
    };

    it('rejects each once and keeps the rest, at every read boundary', () => {
      for (let cut = 0; cut <= input.length; cut++) expect(feed(max, input, [cut]), `cut ${cut}`).toEqual(wanted);
      for (let a = 0; a <= input.length; a++)
        for (let b = a; b <= input.length; b++) expect(feed(max, input, [a, b]), `cuts ${a},${b}`).toEqual(wanted);
    });

    it('never buffers more than the limit of a line that does not end', () => {
      const { splitter, got } = collector(1000);
      const chunk = Buffer.alloc(300, 0x61);
      for (let i = 0; i < 10_000; i++) {
        splitter.push(chunk);
        expect(splitter.pendingBytes).toBeLessThanOrEqual(1001);
      }
      expect(got.rejects).toEqual(['line_too_long']);
      splitter.push(Buffer.from('\nnext 1 2\n'));
      expect(got).toEqual({ lines: ['next 1 2'], rejects: ['line_too_long'] });
    });

    it('drops an over-long unterminated final line at end() (already rejected)', () => {
      expect(feed(5, Buffer.from('ok\n123456789'), [4])).toEqual({ lines: ['ok'], rejects: ['line_too_long'] });
      expect(feed(5, Buffer.from('ok\n123456'), [])).toEqual({ lines: ['ok'], rejects: ['line_too_long'] });
    });
  });

  it('refuses a limit that is not a positive integer', () => {
    expect(
      () =>
        new LineSplitter(
          0,
          () => {},
          () => {},
        ),
    ).toThrow(RangeError);
  });
});

describe('splitDatagram', () => {
  it('splits lines, tolerates \\r\\n, skips empty lines and rejects over-long ones', () => {
    const got: Collected = { lines: [], rejects: [] };
    splitDatagram(
      Buffer.from('a:1|c\nb:2|c\r\n\n' + 'c'.repeat(20) + ':1|c\nd:4|c'),
      10,
      (buf, start, end) => got.lines.push(decodeLine(buf, start, end)),
      (reason) => got.rejects.push(reason),
    );
    expect(got).toEqual({ lines: ['a:1|c', 'b:2|c', 'd:4|c'], rejects: ['line_too_long'] });
  });
});
