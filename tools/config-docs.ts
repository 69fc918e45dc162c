/**
 * Renders the config docs from the schemas: `carillon.example.toml` (the all-in-one's keys with their defaults)
 * and the key tables between `<!-- config:begin NAME -->` and `<!-- config:end -->` in the READMEs.
 * `npm run config:docs` writes them (from the built packages); test/config-docs.test.ts fails when they are stale.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { renderExampleToml, renderKeyTable, replaceMarkedRegion } from '@carillon/core';
import { ACCUMULATOR_OWN_SCHEMA, ALLINONE_SCHEMA } from '@carillon/accumulator';
import { RELAY_SCHEMA } from '@carillon/relay';
import { WRITER_TYPES } from '@carillon/writers';

export const REGENERATE_COMMAND = 'npm run config:docs';

const EXAMPLE_HEADER = [
  'carillon single-node configuration: every key with its default value.',
  'Generated from the config schema by `npm run config:docs`; edit the key declarations, not this file.',
  'Use with `npm start -- --config carillon.example.toml`; any key can also be set with CARILLON_<KEY> or --set key=value.',
  'Durations: 100ms, 10s, 5m, 2h, 7d; a bare number means seconds.',
];

/** Every `[[writers]]` type: its archetypes, what it does, and the keys of one entry. */
function renderWriterCatalogue(): string {
  return WRITER_TYPES.map((type) =>
    [
      `#### \`type = "${type.type}"\` (${type.archetypes.join(', ')})`,
      '',
      `${type.description.charAt(0).toUpperCase()}${type.description.slice(1)}.`,
      '',
      renderKeyTable(type.schema),
    ].join('\n'),
  ).join('\n\n');
}

export interface RenderedFile {
  /** Relative to the repository root. */
  path: string;
  text: string;
}

/** Every generated file as it should be, given the repository's current files (only marked regions change). */
export function renderConfigDocs(root: string): RenderedFile[] {
  const table = (path: string, region: string, schema: Parameters<typeof renderKeyTable>[0]): RenderedFile => ({
    path,
    text: replaceMarkedRegion(readFileSync(join(root, path), 'utf8'), region, renderKeyTable(schema)),
  });
  return [
    { path: 'carillon.example.toml', text: renderExampleToml(ALLINONE_SCHEMA, EXAMPLE_HEADER) },
    {
      path: 'README.md',
      text: replaceMarkedRegion(
        replaceMarkedRegion(readFileSync(join(root, 'README.md'), 'utf8'), 'allinone', renderKeyTable(ALLINONE_SCHEMA)),
        'writers',
        renderWriterCatalogue(),
      ),
    },
    table('packages/accumulator/README.md', 'accumulator', ACCUMULATOR_OWN_SCHEMA),
    table('packages/relay/README.md', 'relay', RELAY_SCHEMA),
  ];
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const root = fileURLToPath(new URL('..', import.meta.url));
  for (const file of renderConfigDocs(root)) {
    writeFileSync(join(root, file.path), file.text);
    console.log(`wrote ${file.path}`);
  }
}
