/**
 * `archive` (batched): StatPoints as JSON lines (`{"name","resolution","time","sum","mean","min","max","first",
 * "last","count","ttl"}`), compressed with zstd (Node's own zlib), one file per delivery, flushed at
 * `batch_max_bytes` (10 MiB) or every `flush_interval` (60 s). Each file is named by the UTC time it was begun,
 * `<dir>/<prefix>-<UTC>.jsonl.zst`, written under a temp name and linked into place, so a file appears only
 * complete and never replaces another (a name taken gets a `-N` suffix); files and directories get explicit
 * modes. The files read back with the standard `zstd -d`. The encoding (JSON and zstd) runs on a thread of its own
 * (encoder.ts); this module does the file work.
 */
import { mkdir, link, open, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError, configKey } from '@carillon/core';
import type { Delivery } from '../queued-writer.js';
import { utcStamp } from '../rows.js';
import { defineWriterType } from '../writer-type.js';
import { ArchiveEncoder } from './encoder.js';

export type { ArchiveRecord } from './encode.js';

export const ARCHIVE_WRITER_KEYS = {
  dir: configKey.string({ key: 'dir', default: '', description: 'directory of the archive files (required)' }),
  prefix: configKey.string({
    key: 'prefix',
    default: 'carillon',
    description: 'file names: <prefix>-<UTC time>.jsonl.zst',
  }),
  level: configKey.integer({ key: 'level', default: 3, min: 1, max: 19, description: 'zstd compression level' }),
  fileMode: configKey.integer({
    key: 'file_mode',
    default: 0o440,
    min: 0,
    max: 0o777,
    description: 'permissions of archive files, a TOML octal (default 0o440: written once, then read-only)',
  }),
  dirMode: configKey.integer({
    key: 'dir_mode',
    default: 0o750,
    min: 0,
    max: 0o777,
    description: 'permissions of the directory when the writer creates it (default 0o750)',
  }),
} as const;

export const ARCHIVE_WRITER = defineWriterType({
  type: 'archive',
  archetypes: ['batched'],
  description: 'zstd-compressed JSON lines, a new file (named by UTC time, created exclusively) per flush',
  keys: ARCHIVE_WRITER_KEYS,
  batching: {
    batchPoints: 1_000_000,
    batchMinPoints: 1_000,
    batchMaxPoints: 10_000_000,
    batchMaxBytes: 10 << 20,
    flushInterval: '60s',
    latencyTarget: '10s',
  },
  check: ({ dir }) => {
    if (dir === '') throw new ConfigError(ARCHIVE_WRITER_KEYS.dir.key, 'must be set: where the archive files go');
  },
  open: async ({ dir, prefix, level, fileMode, dirMode }): Promise<Delivery> => {
    await mkdir(dir, { recursive: true, mode: dirMode });
    const encoder = new ArchiveEncoder(`archive-${prefix}`);
    const delivery: Delivery = {
      async deliver(chunk) {
        const data = await encoder.encode(chunk, level);
        const temp = join(dir, `.${prefix}-${process.pid}-${Date.now()}.tmp`);
        const file = await open(temp, 'wx', fileMode);
        try {
          await file.write(data);
          await file.sync();
        } finally {
          await file.close();
        }
        const stamp = utcStamp(Date.now());
        try {
          for (let n = 0; ; n++) {
            const target = join(dir, `${prefix}-${stamp}${n === 0 ? '' : `-${n}`}.jsonl.zst`);
            try {
              await link(temp, target);
              break;
            } catch (error) {
              if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
            }
          }
        } finally {
          await unlink(temp);
        }
        return data.length;
      },
      sizeOf: (batch) => batch.names.reduce((n, name) => n + name.length + 170, 0),
      close: () => encoder.close(),
    };
    return delivery;
  },
});
