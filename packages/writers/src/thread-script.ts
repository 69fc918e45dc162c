/**
 * The built script of a worker thread that sits beside the module starting it. Tests run the sources (`src/*.ts`),
 * but a worker runs the build (`dist/*.js`), so a source path is mapped to its built twin.
 */
import { existsSync } from 'node:fs';
import { basename, dirname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** `script` (e.g. `worker-main.js`) in the built directory of the module at `moduleUrl` (its `import.meta.url`). */
export function builtThreadScript(moduleUrl: string, script: string, what: string): string {
  const here = fileURLToPath(moduleUrl);
  const dir = dirname(here);
  const parts = dir.split(sep);
  // the last `src` of the path is the package's source root; its twin `dist` holds the build
  const src = parts.lastIndexOf('src');
  const builtDir =
    here.endsWith('.ts') && src >= 0 ? [...parts.slice(0, src), 'dist', ...parts.slice(src + 1)].join(sep) : dir;
  const built = join(builtDir, script);
  if (!existsSync(built))
    throw new Error(
      `${what} ${built} is missing (beside ${basename(here)}): build first with \`npx tsc -b tsconfig.build.json\``,
    );
  return built;
}
