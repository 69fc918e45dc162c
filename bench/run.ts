// Runs every benchmark module (`packages/*/bench/*.bench.ts`, `services/*/bench/*.bench.ts`, `bench/*.bench.ts`)
// against the built code and prints one line per figure. A module's default export is a `Bench` (bench/row.ts):
// an async function returning rows { name, value, unit, note? }. Run as `node bench/run.ts` (Node 24 strips the
// types). `npm run bench -- <filter>` runs the modules whose path contains it.
import { readdirSync, existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Bench } from './row.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const filter = process.argv[2] ?? '';

function benchFiles(): string[] {
  const files: string[] = [];
  for (const group of ['packages', 'services']) {
    for (const name of readdirSync(join(root, group))) {
      const dir = join(root, group, name, 'bench');
      if (existsSync(dir)) for (const f of readdirSync(dir)) if (f.endsWith('.bench.ts')) files.push(join(dir, f));
    }
  }
  for (const f of readdirSync(join(root, 'bench'))) if (f.endsWith('.bench.ts')) files.push(join(root, 'bench', f));
  return files.filter((f) => relative(root, f).includes(filter)).sort();
}

const format = (value: number): string =>
  Math.abs(value) >= 1000 ? Math.round(value).toLocaleString('en-US') : value.toPrecision(4);

console.log(`carillon benchmarks — node ${process.version}, ${new Date().toISOString()}`);
for (const file of benchFiles()) {
  const { default: run } = (await import(pathToFileURL(file).href)) as { default: Bench };
  console.log(`\n## ${relative(root, file)}`);
  for (const row of await run()) {
    console.log(
      `${row.name.padEnd(60)} ${format(row.value).padStart(16)} ${row.unit}${row.note ? `  (${row.note})` : ''}`,
    );
  }
}
