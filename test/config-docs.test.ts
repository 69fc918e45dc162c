/** The example file and the README key tables are generated from the config schema: fail when they are stale. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { REGENERATE_COMMAND, renderConfigDocs } from '../tools/config-docs.js';

const root = fileURLToPath(new URL('..', import.meta.url));

describe('generated config docs', () => {
  it.each(renderConfigDocs(root).map((file) => [file.path, file.text]))('%s is up to date', (path, text) => {
    const committed = readFileSync(join(root, path), 'utf8');
    expect(committed === text, `${path} is stale: run \`${REGENERATE_COMMAND}\` and commit the result`).toBe(true);
  });
});
