/**
 * `http` (batched, connection-based): InfluxDB line protocol POSTed in batches to any compatible endpoint
 * (VictoriaMetrics `/write`, InfluxDB 1.x `/write?db=`, 2.x `/api/v2/write?org=&bucket=` with a token,
 * openGemini). Connections are kept alive and reused (one agent); each request runs under `write_timeout`. 2xx is
 * written; 408, 429 and 5xx are retried (the server may recover); any other 4xx is the data refused, dropped and
 * counted, never retried.
 */
import { promisify } from 'node:util';
import { gzip as gzipCallback } from 'node:zlib';
import { ConfigError, configKey } from '@carillon/core';
import { WriterError, errorKind } from '../errors.js';
import type { Delivery } from '../queued-writer.js';
import { forEachRow } from '../rows.js';
import { defineWriterType } from '../writer-type.js';
import { LINE_FIELDS, LineFormatter, type LineField } from './line-protocol.js';

const gzip = promisify(gzipCallback);

export const HTTP_WRITER_KEYS = {
  url: configKey.string({
    key: 'url',
    default: '',
    description:
      'the write endpoint (required): http://vm:8428/write, http://influx:8086/write?db=NAME, …/api/v2/write?org=O&bucket=B',
  }),
  authorization: configKey.string({
    key: 'authorization',
    default: '',
    description: 'Authorization header value ("Token …" for InfluxDB 2, "Basic …"); "" for none',
  }),
  gzip: configKey.boolean({ key: 'gzip', default: false, description: 'gzip request bodies' }),
  measurementNodes: configKey.integer({
    key: 'measurement_nodes',
    default: 0,
    min: 0,
    description: 'leading path nodes forming the measurement; 0: the whole path (the rest becomes rest_tag)',
  }),
  restTag: configKey.string({
    key: 'rest_tag',
    default: 'metric',
    description: 'tag holding the path nodes after measurement_nodes',
  }),
  resolutionTag: configKey.string({
    key: 'resolution_tag',
    default: 'resolution',
    description: 'tag holding the resolution step ("10s"), so resolutions do not overwrite each other; "" for none',
  }),
  fields: configKey.stringList({
    key: 'fields',
    default: [...LINE_FIELDS],
    description: `StatPoint values written as fields, of ${LINE_FIELDS.join(', ')}`,
  }),
  tags: configKey.stringList({ key: 'tags', default: [], description: 'static tags on every point, "k=v"' }),
} as const;

function parseStaticTags(tags: readonly string[]): [string, string][] {
  return tags.map((tag) => {
    const eq = tag.indexOf('=');
    if (eq <= 0 || eq === tag.length - 1)
      throw new ConfigError(HTTP_WRITER_KEYS.tags.key, `"${tag}" must be name=value`);
    return [tag.slice(0, eq), tag.slice(eq + 1)];
  });
}

export const HTTP_WRITER = defineWriterType({
  type: 'http',
  archetypes: ['batched', 'connection'],
  description: 'InfluxDB line protocol POSTed in batches (VictoriaMetrics, InfluxDB 1.x/2.x, openGemini)',
  keys: HTTP_WRITER_KEYS,
  batching: { batchPoints: 5_000, batchMaxPoints: 100_000, batchMaxBytes: 8 << 20, flushInterval: '1s' },
  check: ({ url, fields, tags }) => {
    if (url === '') throw new ConfigError(HTTP_WRITER_KEYS.url.key, 'must be set: the write endpoint');
    if (!/^https?:\/\//.test(url)) throw new ConfigError(HTTP_WRITER_KEYS.url.key, `"${url}" is not an http(s) URL`);
    for (const f of fields)
      if (!(LINE_FIELDS as readonly string[]).includes(f))
        throw new ConfigError(HTTP_WRITER_KEYS.fields.key, `"${f}" is not one of ${LINE_FIELDS.join(', ')}`);
    if (fields.length === 0) throw new ConfigError(HTTP_WRITER_KEYS.fields.key, 'needs at least one field');
    parseStaticTags(tags);
  },
  open: (values): Promise<Delivery> => {
    const formatter = new LineFormatter({
      measurementNodes: values.measurementNodes,
      restTag: values.restTag,
      resolutionTag: values.resolutionTag,
      fields: values.fields as LineField[],
      staticTags: parseStaticTags(values.tags),
    });
    const headers: Record<string, string> = { 'content-type': 'text/plain; charset=utf-8' };
    if (values.authorization !== '') headers.authorization = values.authorization;
    if (values.gzip) headers['content-encoding'] = 'gzip';
    const delivery: Delivery = {
      async deliver(chunk, signal) {
        const lines: string[] = [];
        forEachRow(chunk, (row) => lines.push(formatter.line(row)));
        const text = Buffer.from(lines.join(''));
        const body = values.gzip ? await gzip(text) : text;
        let response: Response;
        try {
          response = await fetch(values.url, { method: 'POST', headers, body, signal });
        } catch (error) {
          const cause = (error as { cause?: unknown }).cause ?? error;
          const kind = signal.aborted ? 'timeout' : errorKind(cause) === 'other' ? 'connect' : errorKind(cause);
          throw new WriterError(kind, `POST ${values.url}: ${(cause as Error).message}`, false, { cause });
        }
        const answer = await response.text().catch(() => '');
        if (response.ok) return body.length;
        const retryable = response.status === 408 || response.status === 429 || response.status >= 500;
        throw new WriterError(
          retryable ? 'server' : 'refused',
          `POST ${values.url}: ${response.status} ${answer.slice(0, 200)}`,
          !retryable,
        );
      },
      sizeOf: (batch) => batch.names.reduce((n, name) => n + name.length + 140, 0),
      close: () => Promise.resolve(),
    };
    return Promise.resolve(delivery);
  },
});
