import { describe, expect, it } from 'vitest';
import { QueryError } from '../src/errors.js';
import { appendMultipartFields, multipartBoundary } from '../src/multipart-form.js';

/** A body as urllib3's encode_multipart_formdata writes one (graphite-web's HttpTagDB posts through it). */
function body(boundary: string, fields: [string, string][], epilogue = ''): Buffer {
  const parts = fields.map(
    ([name, value]) => `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`,
  );
  return Buffer.from(`${parts.join('')}--${boundary}--\r\n${epilogue}`);
}

function fields(raw: Buffer, boundary: string): [string, string][] {
  const params = new URLSearchParams();
  appendMultipartFields(params, raw, boundary);
  return [...params];
}

describe('multipart/form-data fields', () => {
  it('reads every field in order, repeated names kept, values with CRLF and dashes inside', () => {
    const sent: [string, string][] = [
      ['expr', 'name=disk.used'],
      ['expr', 'dc=~e.*'],
      ['tagPrefix', ''],
      ['note', 'two\r\nlines -- and --dashes'],
      ['limit', '100'],
    ];
    expect(fields(body('b0a1c2', sent, 'epilogue'), 'b0a1c2')).toEqual(sent);
  });

  it('takes the boundary from the header, quoted or not', () => {
    expect(multipartBoundary('multipart/form-data; boundary=abc123')).toBe('abc123');
    expect(multipartBoundary('multipart/form-data; charset=utf-8; boundary="a b:c"')).toBe('a b:c');
  });

  it('takes a preamble before the first boundary and an empty form', () => {
    expect(
      fields(Buffer.from('preamble\r\n--x\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--x--'), 'x'),
    ).toEqual([['a', '1']]);
    expect(fields(Buffer.from('--x--\r\n'), 'x')).toEqual([]);
  });

  it('takes a delimiter only at the start of a line: the boundary inside a preamble line is text', () => {
    const raw = 'see --x here\r\n--x\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--x--';
    expect(fields(Buffer.from(raw), 'x')).toEqual([['a', '1']]);
  });

  it.each([
    ['no boundary in the header', () => multipartBoundary('multipart/form-data')],
    ['a body without the boundary', () => fields(Buffer.from('name=value'), 'x')],
    ['a body not closed', () => fields(Buffer.from('--x\r\nContent-Disposition: form-data; name="a"\r\n\r\n1'), 'x')],
    ['a part without headers end', () => fields(Buffer.from('--x\r\nContent-Disposition: form-data'), 'x')],
    [
      'a part without a name',
      () => fields(Buffer.from('--x\r\nContent-Disposition: form-data\r\n\r\n1\r\n--x--'), 'x'),
    ],
    [
      'a file part',
      () =>
        fields(Buffer.from('--x\r\nContent-Disposition: form-data; name="f"; filename="a.txt"\r\n\r\n1\r\n--x--'), 'x'),
    ],
  ])('refuses %s with a 400', (_, parse) => {
    expect(parse).toThrow(QueryError);
    try {
      parse();
    } catch (error) {
      expect((error as QueryError).status).toBe(400);
    }
  });
});
