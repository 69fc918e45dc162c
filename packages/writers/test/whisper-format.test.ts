/** Whisper file checks that need no reference tool. */
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CorruptWhisperFileError, readHeader } from '@carillon/writers';
import { useTempDir } from '../../../test/support/temp-dir.js';

const dir = useTempDir('whisper-format', 'all');

describe('whisper format', () => {
  it('refuses a file that is not whisper', async () => {
    const path = join(dir(), 'not-whisper.wsp');
    const handle = await open(path, 'w+');
    try {
      await handle.write(Buffer.from('this is not a whisper file at all'), 0, 33, 0);
      await expect(readHeader(handle, path)).rejects.toBeInstanceOf(CorruptWhisperFileError);
    } finally {
      await handle.close();
    }
  });
});
