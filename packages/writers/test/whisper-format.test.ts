/** Whisper file checks that need no reference tool. */
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CorruptWhisperFileError, readHeader } from '@carillon/writers';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'carillon-whisper-format-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('whisper format', () => {
  it('refuses a file that is not whisper', async () => {
    const path = join(dir, 'not-whisper.wsp');
    const handle = await open(path, 'w+');
    try {
      await handle.write(Buffer.from('this is not a whisper file at all'), 0, 33, 0);
      await expect(readHeader(handle, path)).rejects.toBeInstanceOf(CorruptWhisperFileError);
    } finally {
      await handle.close();
    }
  });
});
