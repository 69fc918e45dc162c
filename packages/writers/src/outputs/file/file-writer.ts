/**
 * `file` (batched): one tab-separated file per resolution, `<base>_<step>s`, a line per StatPoint with the
 * columns `name sum mean min max first last count resolution time_ns ttl_ns` (resolution the step in seconds,
 * times in nanoseconds). Past `max_file_size` the file is renamed to `<base>_<step>s.<UTC time>` (never over an
 * existing one) and a new one begun. Appends go through one open descriptor per file; close fsyncs them.
 */
import { mkdirSync } from 'node:fs';
import { link, open, unlink, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ConfigError, configKey } from '@carillon/core';
import type { Delivery } from '../queued-writer.js';
import { forEachRow, secondsToNs, utcStamp, type PointRow } from '../rows.js';
import { defineWriterType } from '../writer-type.js';

export const FILE_WRITER_KEYS = {
  base: configKey.string({
    key: 'base',
    default: '',
    description: 'path prefix of the files: <base>_<step>s per resolution (required)',
  }),
  maxFileSize: configKey.integer({
    key: 'max_file_size',
    default: 100 << 20,
    min: 1024,
    unit: 'bytes',
    description: 'a file past this size is renamed to <base>_<step>s.<UTC time> and a new one begun',
  }),
  fileMode: configKey.integer({
    key: 'file_mode',
    default: 0o640,
    min: 0,
    max: 0o777,
    description: 'permissions of new files, a TOML octal (default 0o640, shown in decimal)',
  }),
} as const;

export const FILE_COLUMNS = [
  'name',
  'sum',
  'mean',
  'min',
  'max',
  'first',
  'last',
  'count',
  'resolution',
  'time_ns',
  'ttl_ns',
] as const;

export function formatFileLine(r: PointRow): string {
  return `${r.name}\t${r.sum}\t${r.mean}\t${r.min}\t${r.max}\t${r.first}\t${r.last}\t${r.count}\t${r.step}\t${secondsToNs(r.time)}\t${secondsToNs(r.ttl)}\n`;
}

interface OpenFile {
  handle: FileHandle;
  size: number;
}

export const FILE_WRITER = defineWriterType({
  type: 'file',
  archetypes: ['batched'],
  description: `tab-separated files per resolution (<base>_<step>s), columns ${FILE_COLUMNS.join(' ')}, rotated at max_file_size`,
  keys: FILE_WRITER_KEYS,
  batching: { batchPoints: 10_000, batchMaxPoints: 500_000, flushInterval: '1s' },
  check: ({ base }) => {
    if (base === '') throw new ConfigError(FILE_WRITER_KEYS.base.key, 'must be set: the path prefix of the files');
  },
  open: ({ base, maxFileSize, fileMode }): Promise<Delivery> => {
    mkdirSync(dirname(base), { recursive: true, mode: 0o750 });
    const files = new Map<number, OpenFile>();

    const fileFor = async (step: number): Promise<OpenFile> => {
      let file = files.get(step);
      if (file === undefined) {
        const path = `${base}_${step}s`;
        const handle = await open(path, 'a', fileMode);
        file = { handle, size: (await handle.stat()).size };
        files.set(step, file);
      }
      return file;
    };

    /** Moves the full file aside under a name no other file has, then starts a new one. */
    const rotate = async (step: number, file: OpenFile): Promise<void> => {
      const path = `${base}_${step}s`;
      await file.handle.sync();
      await file.handle.close();
      files.delete(step);
      const stamp = utcStamp(Date.now());
      for (let n = 0; ; n++) {
        const target = n === 0 ? `${path}.${stamp}` : `${path}.${stamp}-${n}`;
        try {
          await link(path, target);
          break;
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        }
      }
      await unlink(path);
    };

    const delivery: Delivery = {
      async deliver(chunk) {
        const byStep = new Map<number, string[]>();
        forEachRow(chunk, (row) => {
          let lines = byStep.get(row.step);
          if (lines === undefined) byStep.set(row.step, (lines = []));
          lines.push(formatFileLine(row));
        });
        let bytes = 0;
        for (const [step, lines] of byStep) {
          // Lines go out in runs that fit the current file; a full file is rotated before the next run.
          let file = await fileFor(step);
          let run: Buffer[] = [];
          let runBytes = 0;
          const writeRun = async (): Promise<void> => {
            if (run.length === 0) return;
            await file.handle.write(Buffer.concat(run, runBytes));
            file.size += runBytes;
            bytes += runBytes;
            run = [];
            runBytes = 0;
          };
          for (const line of lines) {
            const data = Buffer.from(line);
            if (file.size + runBytes > 0 && file.size + runBytes + data.length > maxFileSize) {
              await writeRun();
              if (file.size > 0) {
                await rotate(step, file);
                file = await fileFor(step);
              }
            }
            run.push(data);
            runBytes += data.length;
          }
          await writeRun();
        }
        return bytes;
      },
      sizeOf: (batch) => batch.names.reduce((n, name) => n + name.length + 150, 0),
      async close() {
        for (const file of files.values()) {
          await file.handle.sync();
          await file.handle.close();
        }
        files.clear();
      },
    };
    return Promise.resolve(delivery);
  },
});
