import type { IncomingMessage } from 'node:http';
import { BodyTooLargeError, readBodyLimited } from '@carillon/core';
import { QueryError } from './errors.js';
import { appendMultipartFields, multipartBoundary } from './multipart-form.js';

/**
 * The parameters of a Graphite API request: the query string plus, for a POST, an
 * `application/x-www-form-urlencoded` body (what Grafana posts), a JSON object, or a `multipart/form-data` body
 * (what graphite-web's HttpTagDB posts), merged as graphite-web does. The body is read up
 * to `maxBodyBytes`; a larger one is refused with 413 before it is buffered.
 */
export async function readRequestParams(req: IncomingMessage, maxBodyBytes: number): Promise<URLSearchParams> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const params = new URLSearchParams(url.search);
  if (req.method !== 'POST' && req.method !== 'PUT') return params;

  const body = await readBody(req, maxBodyBytes);
  if (body.length === 0) return params;

  const header = req.headers['content-type'] ?? '';
  const contentType = header.split(';')[0]!.trim().toLowerCase();
  if (contentType === 'application/x-www-form-urlencoded' || contentType === '') {
    for (const [key, value] of new URLSearchParams(body.toString('utf8'))) params.append(key, value);
  } else if (contentType === 'application/json') {
    appendJson(params, body);
  } else if (contentType === 'multipart/form-data') {
    appendMultipartFields(params, body, multipartBoundary(header));
  } else {
    throw new QueryError(
      `unsupported content type "${contentType}": post application/x-www-form-urlencoded, multipart/form-data or application/json`,
      415,
    );
  }
  return params;
}

async function readBody(req: IncomingMessage, maxBodyBytes: number): Promise<Buffer> {
  try {
    return await readBodyLimited(req, maxBodyBytes);
  } catch (error) {
    if (error instanceof BodyTooLargeError) throw new QueryError(error.message, 413);
    throw error;
  }
}

/** A JSON object body: string, number and boolean members, or arrays of them for repeated keys (`target`). */
function appendJson(params: URLSearchParams, body: Buffer): void {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw new QueryError(`request body is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new QueryError('a JSON request body must be an object of parameters');
  for (const [key, value] of Object.entries(parsed)) {
    for (const item of Array.isArray(value) ? value : [value]) {
      if (typeof item !== 'string' && typeof item !== 'number' && typeof item !== 'boolean')
        throw new QueryError(`JSON parameter "${key}" must be a string, number, boolean or a list of them`);
      params.append(key, String(item));
    }
  }
}
