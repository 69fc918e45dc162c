/**
 * A batched writer that appends every flushed StatPoint as one JSON line
 * `{"name","step","time","min","max","sum","first","last","count"}` to a file: complete StatPoints (no
 * aggregation method applied), for audits, replays into other systems and the cluster tests. Appends run one
 * at a time so lines of concurrent batches never interleave.
 */
import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { batchPoint, type FlushBatch, type StatPoint, type Writer } from '@carillon/core';

/**
 * One line of the file: a StatPoint with its series name and resolution step. `amend: true` marks late points
 * to be merged into the window written before (core mergeStatPoint), not a window of their own.
 */
export interface StatPointRecord extends StatPoint {
  name: string;
  step: number;
  amend?: true;
}

export class StatPointFileWriter implements Writer {
  readonly name = 'file';
  private tail: Promise<void>;

  constructor(private readonly path: string) {
    this.tail = mkdir(dirname(path), { recursive: true }).then(() => undefined);
  }

  write(batch: FlushBatch): Promise<void> {
    const lines: string[] = [];
    const { names } = batch;
    const step = batch.resolution.step;
    for (let i = 0; i < names.length; i++) {
      const record: StatPointRecord = { name: names[i]!, step, ...batchPoint(batch, i) };
      if (batch.amend !== undefined) record.amend = true;
      lines.push(JSON.stringify(record));
    }
    const text = lines.length === 0 ? '' : `${lines.join('\n')}\n`;
    const done = this.tail.then(() => (text === '' ? undefined : appendFile(this.path, text)));
    // The next append waits for this one whether it failed or not; the failure goes to the caller (counted there).
    this.tail = done.catch(() => undefined);
    return done;
  }

  async close(): Promise<void> {
    await this.tail;
  }
}

/** Every record of a file the writer produced (tests, audits). */
export function parseStatPointLines(text: string): StatPointRecord[] {
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as StatPointRecord);
}
