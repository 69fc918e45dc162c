/**
 * Where a worker thread's script is: the compiled `dist/<name>.js` of the package whose module asks. Tests run
 * the packages from `src` (vitest), but a worker thread needs the built file, so a missing one says how to build.
 */
import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The built `<workerName>.js` beside `moduleUrl` (its `import.meta.url`, from `src/` or `dist/`). */
export function builtWorkerScript(moduleUrl: string, workerName: string): string {
  const moduleDir = dirname(fileURLToPath(moduleUrl));
  const distDir = basename(moduleDir) === 'src' ? join(dirname(moduleDir), 'dist') : moduleDir;
  const script = join(distDir, `${workerName}.js`);
  if (!existsSync(script))
    throw new Error(`worker script ${script} is missing: build first with \`npx tsc -b tsconfig.build.json\``);
  return script;
}
