import { describe, expect, it } from 'vitest';
import {
  LineSplitter,
  NO_LINE_LIMIT,
  decodeLine,
  forEachLine,
  splitDatagram,
  type RejectReason,
} from '@carillon/protocols';

/** What a splitter delivered, in order: a line's text, or `!` for a line_too_long. */
type Event = string;

function split(text: string, max: number): Event[] {
  const events: Event[] = [];
  const bytes = Buffer.from(`##${text}##`);
  forEachLine(
    bytes,
    2,
    bytes.length - 2,
    max,
    (buf, start, end) => events.push(decodeLine(buf, start, end)),
    (reason: RejectReason) => events.push(reason === 'line_too_long' ? '!' : reason),
  );
  return events;
}

/** The stream framer fed `text` cut at every byte position, each cut must give `expected`. */
function framedAtEveryCut(text: string, max: number): Event[][] {
  const bytes = Buffer.from(text);
  const results: Event[][] = [];
  for (let cut = 0; cut <= bytes.length; cut++) {
    const events: Event[] = [];
    const splitter = new LineSplitter(
      max,
      (buf, start, end) => events.push(decodeLine(buf, start, end)),
      () => events.push('!'),
    );
    splitter.push(bytes.subarray(0, cut));
    splitter.push(bytes.subarray(cut));
    splitter.end();
    results.push(events);
  }
  return results;
}

function datagram(text: string, max: number): Event[] {
  const events: Event[] = [];
  splitDatagram(
    Buffer.from(text),
    max,
    (buf, start, end) => events.push(decodeLine(buf, start, end)),
    () => events.push('!'),
  );
  return events;
}

// One table for every splitter: the range splitter, the datagram splitter and the stream framer at any cut.
const cases: [string, string, number, Event[]][] = [
  ['one line', 'a 1 2', 10, ['a 1 2']],
  ['LF lines', 'a 1\nb 2\n', 10, ['a 1', 'b 2']],
  ['CRLF lines', 'a 1\r\nb 2\r\n', 10, ['a 1', 'b 2']],
  ['mixed endings, partial last line', 'a 1\r\nb 2\nc 3', 10, ['a 1', 'b 2', 'c 3']],
  ['partial last line ending in \\r', 'a 1\nb 2\r', 10, ['a 1', 'b 2']],
  ['only one \\r is dropped', 'a\r\r\n', 10, ['a\r']],
  ['a lone \\r inside a line stays', 'a\rb\n', 10, ['a\rb']],
  ['empty lines are skipped', '\n\na\n\n\nb\n', 10, ['a', 'b']],
  ['lines of only \\r are empty', '\r\n\r\na\r\n', 10, ['a']],
  ['a line of spaces is not empty', ' \n\t\n', 10, [' ', '\t']],
  ['nothing', '', 10, []],
  ['just a newline', '\n', 10, []],
  ['at the limit', '12345\n', 5, ['12345']],
  ['at the limit with \\r\\n', '12345\r\n', 5, ['12345']],
  ['at the limit, partial last line', '12345', 5, ['12345']],
  ['one over the limit', '123456\nok\n', 5, ['!', 'ok']],
  ['one over the limit with \\r\\n', '123456\r\nok\n', 5, ['!', 'ok']],
  ['one over the limit, partial last line', 'ok\n123456', 5, ['ok', '!']],
  ['far over the limit, once', `${'x'.repeat(40)}\nok\n`, 5, ['!', 'ok']],
  ['one under the limit', '1234\n', 5, ['1234']],
  ['UTF-8 counts bytes', 'héllo\n', 5, ['!']],
];

describe('forEachLine', () => {
  it.each(cases)('%s', (_name, text, max, expected) => {
    expect(split(text, max)).toEqual(expected);
  });

  it('stays inside its range', () => {
    const bytes = Buffer.from('a\nb\nc\nd');
    const lines: string[] = [];
    forEachLine(
      bytes,
      2,
      5,
      10,
      (buf, start, end) => lines.push(decodeLine(buf, start, end)),
      () => {},
    );
    expect(lines).toEqual(['b', 'c']);
  });

  it('holds an unterminated last line back when asked, returning where it starts', () => {
    const lines: string[] = [];
    const collect = (buf: Buffer, start: number, end: number): number => lines.push(decodeLine(buf, start, end));
    const bytes = Buffer.from('a\r\nb\ntail');
    expect(forEachLine(bytes, 0, bytes.length, 10, collect, () => {}, true)).toBe(5);
    expect(lines).toEqual(['a', 'b']);
    const ended = Buffer.from('a\nb\n');
    expect(forEachLine(ended, 0, ended.length, 10, collect, () => {}, true)).toBe(ended.length);
    expect(forEachLine(bytes, 0, bytes.length, 10, collect, () => {})).toBe(bytes.length);
    expect(lines).toEqual(['a', 'b', 'a', 'b', 'a', 'b', 'tail']);
  });

  it('has no limit with NO_LINE_LIMIT', () => {
    expect(split('x'.repeat(100_000), NO_LINE_LIMIT)).toEqual(['x'.repeat(100_000)]);
  });
});

describe('splitDatagram', () => {
  it.each(cases)('%s', (_name, text, max, expected) => {
    expect(datagram(text, max)).toEqual(expected);
  });
});

describe('LineSplitter at every read boundary', () => {
  it.each(cases)('%s', (_name, text, max, expected) => {
    for (const [cut, events] of framedAtEveryCut(text, max).entries()) expect(events, `cut ${cut}`).toEqual(expected);
  });
});
