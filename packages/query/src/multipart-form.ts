/**
 * The fields of a `multipart/form-data` body (RFC 7578), as graphite-web's own clients post them: its HttpTagDB
 * (urllib3 encodes every POST's fields so) asks `/tags/findSeries` and the autocomplete endpoints this way. Only
 * plain fields are parameters; a part carrying a file is refused. The body is bounded before it gets here, and
 * the parse is one linear pass over it.
 */
import { QueryError } from './errors.js';

const CRLF = Buffer.from('\r\n');
const HEADERS_END = Buffer.from('\r\n\r\n');

/** The boundary named by a `multipart/form-data` Content-Type header, or a 400 naming what is missing. */
export function multipartBoundary(contentType: string): string {
  const match = /;\s*boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  const boundary = match?.[1] ?? match?.[2];
  if (!boundary || boundary.length > 70) throw new QueryError('multipart/form-data body without a valid boundary');
  return boundary;
}

/** Appends each field of `body` (delimited by `boundary`) to `params`, in order. */
export function appendMultipartFields(params: URLSearchParams, body: Buffer, boundary: string): void {
  const delimiter = Buffer.from(`--${boundary}`);
  // Every delimiter after the first starts a line (RFC 2046 5.1.1); the first may also start the body.
  const lineDelimiter = Buffer.from(`\r\n--${boundary}`);
  let at = body.subarray(0, delimiter.length).equals(delimiter) ? 0 : body.indexOf(lineDelimiter);
  if (at < 0) throw new QueryError('multipart/form-data body without its boundary');
  if (at > 0) at += 2;
  for (;;) {
    at += delimiter.length;
    // `--` after a delimiter closes the body; anything after it is an epilogue, ignored.
    if (body[at] === 0x2d && body[at + 1] === 0x2d) return;
    if (!body.subarray(at, at + 2).equals(CRLF)) throw new QueryError('malformed multipart/form-data delimiter');
    const headersEnd = body.indexOf(HEADERS_END, at);
    if (headersEnd < 0) throw new QueryError('multipart/form-data part without the end of its headers');
    const next = body.indexOf(lineDelimiter, headersEnd + 4);
    if (next < 0) throw new QueryError('multipart/form-data body not closed by its boundary');
    const name = fieldName(body.toString('utf8', at + 2, headersEnd));
    params.append(name, body.toString('utf8', headersEnd + 4, next));
    at = next + 2;
  }
}

/** The field name of a part, from its Content-Disposition header. */
function fieldName(headers: string): string {
  const disposition = headers.split('\r\n').find((h) => /^content-disposition:/i.test(h));
  if (!disposition || !/^content-disposition:\s*form-data/i.test(disposition))
    throw new QueryError('multipart/form-data part without a form-data Content-Disposition');
  if (/;\s*filename\*?=/i.test(disposition)) throw new QueryError('multipart/form-data file parts are not parameters');
  const match = /;\s*name="((?:[^"\\]|\\.)*)"/i.exec(disposition) ?? /;\s*name=([^;\s]+)/i.exec(disposition);
  if (!match) throw new QueryError('multipart/form-data part without a field name');
  return match[1]!.replace(/\\(.)/g, '$1');
}
