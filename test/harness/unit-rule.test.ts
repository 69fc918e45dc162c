/**
 * The rule test:unit relies on (vitest.config.ts): a test that needs an external server or tool is named
 * `*.external.test.ts`. A unit test file that imports the server harness or the whisper tools breaks it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../e2e/programs.js';

/** Every `*.test.ts` below `dir`, skipping node_modules and build output. */
function testFiles(dir: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name === 'dist' || entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...testFiles(path));
    else if (entry.name.endsWith('.test.ts')) found.push(path);
  }
  return found;
}

// Import statements (at a line start, possibly spanning lines) of what only external tests may use.
const NEEDS_EXTERNAL =
  /^import [^;]*from '([./]*(test\/)?harness\/servers|[./]*support\/cassandra|\.\/whisper-tools)\.js';|^import [^;]*from '(ioredis|kafkajs|cassandra-driver)';/m;

describe('unit test selection', () => {
  it('no unit test imports the server harness, the whisper tools, or a Redis, Kafka or Cassandra client', () => {
    const unitFiles = ['packages', 'test']
      .flatMap((dir) => testFiles(join(repoRoot, dir)))
      .filter((path) => !path.endsWith('.external.test.ts'));
    expect(unitFiles.length).toBeGreaterThan(30);
    const offenders = unitFiles
      .filter((path) => NEEDS_EXTERNAL.test(readFileSync(path, 'utf8')))
      .map((path) => relative(repoRoot, path));
    expect(offenders).toEqual([]);
  });
});
