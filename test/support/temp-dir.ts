/** Temporary directories for tests that write files. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';

/**
 * Registers hooks that make a fresh `carillon-<name>-*` directory before each test (`scope` 'each') or once for
 * the file ('all'), and remove it after. Call at the top of a test file; the returned function gives the path.
 */
export function useTempDir(name: string, scope: 'each' | 'all' = 'each'): () => string {
  let dir: string | undefined;
  const make = async (): Promise<void> => {
    dir = await mkdtemp(join(tmpdir(), `carillon-${name}-`));
  };
  const remove = async (): Promise<void> => {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
    dir = undefined;
  };
  if (scope === 'each') {
    beforeEach(make);
    afterEach(remove);
  } else {
    beforeAll(make);
    afterAll(remove);
  }
  return () => {
    if (dir === undefined) throw new Error('the temporary directory exists only while a test runs');
    return dir;
  };
}
