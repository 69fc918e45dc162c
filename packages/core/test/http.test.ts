import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BodyTooLargeError, readBodyLimited, sendJson } from '@carillon/core';

const LIMIT = 1024;
let server: Server;
let port: number;

beforeAll(async () => {
  server = createServer((req, res) => {
    readBodyLimited(req, LIMIT).then(
      (body) => sendJson(res, 200, { bytes: body.length }),
      (error: unknown) => sendJson(res, error instanceof BodyTooLargeError ? 413 : 500, { error: String(error) }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** POSTs `chunks` without a content-length (chunked), so the limit is found while reading. */
function postChunked(chunks: Buffer[]): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/' }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
    for (const chunk of chunks) req.write(chunk);
    req.end();
  });
}

describe('readBodyLimited and sendJson', () => {
  it('reads a body within the limit', async () => {
    const response = await fetch(`http://127.0.0.1:${port}/`, { method: 'POST', body: 'x'.repeat(LIMIT) });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(await response.json()).toEqual({ bytes: LIMIT });
  });

  it('refuses a body declared larger than the limit, and the client still gets the 413', async () => {
    const response = await fetch(`http://127.0.0.1:${port}/`, { method: 'POST', body: 'x'.repeat(LIMIT + 1) });
    expect(response.status).toBe(413);
    expect(await response.json()).toEqual({ error: `BodyTooLargeError: request body is larger than ${LIMIT} bytes` });
  });

  it('refuses a chunked body that grows past the limit, and the client still gets the 413', async () => {
    const chunks = Array.from({ length: 8 }, () => Buffer.alloc(512, 0x61));
    const { status } = await postChunked(chunks);
    expect(status).toBe(413);
  });
});
