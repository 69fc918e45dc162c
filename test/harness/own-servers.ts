/**
 * Servers one test owns alone, on a free port: a fault test stops and restarts them under traffic (never the shared
 * ones), and Prometheus needs a scrape config naming the test's exporter. Each runs detached with the run's
 * watchdog, so a dying vitest takes it along; `close()` stops it and deletes its data.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isAlive } from './run-state.js';
import { mariadbAnswers, prepareMariadb, redisAnswers, waitUntilReady, watchOwner } from './local-servers.js';
import { runDir, uniqueName } from './servers.js';
import { freePort } from '../support/ports.js';
import { sleep } from '../support/wait.js';

interface OwnSpec {
  name: string;
  command: string;
  args: string[];
  dataDir: string;
  port: number;
  ready: () => Promise<boolean>;
  startTimeoutMs: number;
}

export class OwnServer {
  readonly host = '127.0.0.1';
  private pid: number | undefined;
  private exitedFlag = true;

  private constructor(
    private readonly spec: OwnSpec,
    private readonly logFile: string,
  ) {}

  get port(): number {
    return this.spec.port;
  }

  get running(): boolean {
    return this.pid !== undefined && !this.exitedFlag;
  }

  static async start(spec: OwnSpec): Promise<OwnServer> {
    await mkdir(spec.dataDir, { recursive: true });
    const server = new OwnServer(spec, `${spec.dataDir}.log`);
    await server.launch();
    return server;
  }

  /** Starts the process (again, after `stop()`: same port, same data) and waits until it answers. */
  async launch(): Promise<void> {
    if (this.running) return;
    const logFd = openSync(this.logFile, 'a');
    const child = spawn(this.spec.command, this.spec.args, {
      detached: true,
      stdio: ['ignore', logFd, logFd],
      cwd: this.spec.dataDir,
    });
    closeSync(logFd);
    this.exitedFlag = false;
    child.once('exit', () => (this.exitedFlag = true));
    const spawnError = await new Promise<Error | undefined>((done) => {
      child.once('spawn', () => done(undefined));
      child.once('error', done);
    });
    if (spawnError || child.pid === undefined)
      throw new Error(`could not run ${this.spec.command}: ${spawnError?.message ?? 'no pid'}. Is it installed?`);
    child.unref();
    this.pid = child.pid;
    await watchOwner(await runDir(), child.pid);
    await waitUntilReady(
      this.spec.name,
      this.logFile,
      () => this.exitedFlag || !isAlive(child.pid!),
      this.spec.startTimeoutMs,
      this.spec.ready,
    );
  }

  /** SIGTERM (SIGKILL after 15 s) and wait for the exit. */
  async stop(): Promise<void> {
    const pid = this.pid;
    if (pid === undefined) return;
    this.pid = undefined;
    const signal = (name: NodeJS.Signals): void => {
      try {
        process.kill(-pid, name);
      } catch {
        // Already gone.
      }
    };
    signal('SIGTERM');
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline && isAlive(pid)) await sleep(100);
    if (isAlive(pid)) signal('SIGKILL');
    while (isAlive(pid)) await sleep(50);
  }

  async close(): Promise<void> {
    await this.stop();
    await rm(this.spec.dataDir, { recursive: true, force: true });
    await rm(this.logFile, { force: true });
  }
}

async function ownDir(name: string): Promise<string> {
  return join(await runDir(), uniqueName(`own_${name}`));
}

/**
 * A redis-server of the test's own. `persist`: an append-only file synced on every write, so what it acknowledged
 * survives `stop()`/`launch()` (a fault test counts on it); otherwise no persistence at all.
 */
export async function ownRedis(options: { persist?: boolean } = {}): Promise<OwnServer> {
  const dataDir = await ownDir('redis');
  const port = await freePort();
  const persistence = options.persist ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no'];
  return OwnServer.start({
    name: 'Redis',
    command: 'redis-server',
    args: ['--bind', '127.0.0.1', '--port', String(port), '--save', '', ...persistence, '--dir', dataDir],
    dataDir,
    port,
    ready: () => redisAnswers('127.0.0.1', port),
    startTimeoutMs: 20_000,
  });
}

/** A mariadbd of the test's own (root, no password); its data survives `stop()`/`launch()`. */
export async function ownMariadb(): Promise<OwnServer> {
  const dataDir = await ownDir('mariadb');
  const port = await freePort();
  return OwnServer.start({
    name: 'MariaDB',
    command: 'mariadbd',
    args: await prepareMariadb(dataDir, port),
    dataDir,
    port,
    ready: () => mariadbAnswers('127.0.0.1', port),
    startTimeoutMs: 60_000,
  });
}

export interface PrometheusOptions {
  /** `host:port` of the exporters to scrape. */
  targets: string[];
  scrapeInterval?: string;
}

/** Debian's `prometheus`, scraping `targets` every `scrapeInterval` (1s by default). */
export async function ownPrometheus(options: PrometheusOptions): Promise<OwnServer & { url: string }> {
  const dataDir = await ownDir('prometheus');
  await mkdir(dataDir, { recursive: true });
  const port = await freePort();
  const interval = options.scrapeInterval ?? '1s';
  const config = join(dataDir, 'prometheus.yml');
  await writeFile(
    config,
    [
      'global:',
      `  scrape_interval: ${interval}`,
      `  scrape_timeout: ${interval}`,
      'scrape_configs:',
      '  - job_name: carillon',
      '    static_configs:',
      `      - targets: [${options.targets.map((target) => `'${target}'`).join(', ')}]`,
      '',
    ].join('\n'),
  );
  const url = `http://127.0.0.1:${port}`;
  const server = await OwnServer.start({
    name: 'Prometheus',
    command: 'prometheus',
    args: [
      `--config.file=${config}`,
      `--storage.tsdb.path=${join(dataDir, 'tsdb')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    dataDir,
    port,
    ready: async () => {
      const response = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(2_000) });
      return response.ok;
    },
    startTimeoutMs: 60_000,
  }).catch((error: unknown) => {
    throw new Error(
      `${(error as Error).message}\nInstall Prometheus (apt-get install -y prometheus; test/servers/prepare.sh does).`,
    );
  });
  return Object.assign(server, { url });
}
