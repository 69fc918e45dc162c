/**
 * The flush watermark on disk: the end (epoch seconds) of the last finest window this accumulator flushed and
 * whose batches the writers finished. Written atomically (temporary file, fsync, rename) after every flush that
 * moves it, read at start-up to resume the aggregator's lateness bound after a crash.
 */
import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { dirname } from 'node:path';

interface WatermarkRecord {
  watermark: number;
  memberId: string;
  writtenAtMs: number;
}

/** The stored watermark, or undefined when there is no file. A damaged file is an error naming the path. */
export async function readWatermark(path: string): Promise<number | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  let record: Partial<WatermarkRecord>;
  try {
    record = JSON.parse(text) as Partial<WatermarkRecord>;
  } catch {
    throw new Error(`watermark file ${path} is not JSON: delete it to start without resuming`);
  }
  const watermark = record.watermark;
  if (typeof watermark !== 'number' || !Number.isInteger(watermark) || watermark < 0)
    throw new Error(`watermark file ${path} holds no whole watermark: delete it to start without resuming`);
  return watermark;
}

export async function writeWatermark(path: string, watermark: number, memberId: string): Promise<void> {
  const record: WatermarkRecord = { watermark, memberId, writtenAtMs: Date.now() };
  const temporary = `${path}.tmp`;
  await mkdir(dirname(path), { recursive: true });
  const file = await open(temporary, 'w');
  try {
    await file.writeFile(JSON.stringify(record));
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(temporary, path);
}
