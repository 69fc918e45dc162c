/**
 * `log` (immediate): one line per StatPoint, `<name> <step>s <time> sum=… mean=… min=… max=… first=… last=…
 * count=…`, to the program's log (info) or appended to a named file as it arrives; no buffer beyond the queue.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { mkdirSync } from 'node:fs';
import { configKey, STAT_STRIDE, type FlushBatch } from '@carillon/core';
import type { Delivery } from '../queued-writer.js';
import { defineWriterType } from '../writer-type.js';

export const LOG_WRITER_KEYS = {
  path: configKey.string({
    key: 'path',
    default: '',
    description: 'file the lines are appended to (created 0640); "" for the program\'s own log',
  }),
} as const;

/** The line of series i of a batch. */
export function formatLogLine(batch: FlushBatch, i: number): string {
  const o = i * STAT_STRIDE;
  const s = batch.stats;
  const count = s[o + 5]!;
  const mean = count === 0 ? 0 : s[o + 2]! / count;
  return `${batch.names[i]} ${batch.resolution.step}s ${batch.time} sum=${s[o + 2]} mean=${mean} min=${s[o]} max=${s[o + 1]} first=${s[o + 3]} last=${s[o + 4]} count=${count}`;
}

export const LOG_WRITER = defineWriterType({
  type: 'log',
  archetypes: ['immediate'],
  description: 'one line per StatPoint to the program log or a file, as it is flushed',
  keys: LOG_WRITER_KEYS,
  open: ({ path }, context): Promise<Delivery> => {
    let file: FileHandle | undefined;
    const delivery: Delivery = {
      async deliver(chunk) {
        const lines: string[] = [];
        for (const batch of chunk) for (let i = 0; i < batch.names.length; i++) lines.push(formatLogLine(batch, i));
        if (path === '') {
          for (const line of lines) context.logger.info({ writer: context.name }, line);
          return lines.reduce((n, line) => n + line.length + 1, 0);
        }
        if (file === undefined) {
          mkdirSync(dirname(path), { recursive: true, mode: 0o750 });
          file = await open(path, 'a', 0o640);
        }
        const text = `${lines.join('\n')}\n`;
        await file.write(text);
        return Buffer.byteLength(text);
      },
      async close() {
        await file?.close();
      },
    };
    return Promise.resolve(delivery);
  },
});
