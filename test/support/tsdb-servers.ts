/**
 * VictoriaMetrics and InfluxDB 1.x as local processes for the line-protocol writer's tests, one per test file on
 * free loopback ports, with data directories that survive a stop, so a test can stop a server and start it again
 * (fault tests). Installed from Debian (`victoria-metrics`, `influxdb`; test/servers/prepare.sh); a missing
 * binary fails with the install command.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from './ports.js';
import { waitFor } from './wait.js';

export interface TsdbServer {
  readonly name: string;
  readonly port: number;
  /** The line-protocol write URL carillon's http writer posts to. */
  readonly writeUrl: string;
  readonly baseUrl: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

function need(binary: string, pkg: string): void {
  if (spawnSync(binary, ['--help'], { stdio: 'ignore' }).error !== undefined)
    throw new Error(`${binary} is not installed: apt-get install -y ${pkg} (test/servers/prepare.sh does it)`);
}

class ProcessServer implements TsdbServer {
  private child: ChildProcess | undefined;
  private log = '';

  constructor(
    readonly name: string,
    readonly port: number,
    readonly writeUrl: string,
    readonly baseUrl: string,
    private readonly command: string,
    private readonly args: string[],
    private readonly healthPath: string,
  ) {}

  async start(): Promise<void> {
    const child = spawn(this.command, this.args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    child.stdout?.on('data', (d: Buffer) => (this.log = (this.log + d.toString()).slice(-4000)));
    child.stderr?.on('data', (d: Buffer) => (this.log = (this.log + d.toString()).slice(-4000)));
    await waitFor(
      `${this.name} on port ${this.port}`,
      async () => {
        if (child.exitCode !== null) throw new Error(`${this.name} exited: ${this.log}`);
        try {
          const r = await fetch(`${this.baseUrl}${this.healthPath}`, { signal: AbortSignal.timeout(1000) });
          return r.status < 500;
        } catch {
          return false;
        }
      },
      30_000,
      100,
    );
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (child === undefined || child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}

export async function startVictoriaMetrics(dir: string): Promise<TsdbServer> {
  need('victoria-metrics', 'victoria-metrics');
  const port = await freePort();
  const data = join(dir, 'vm-data');
  mkdirSync(data, { recursive: true });
  const base = `http://127.0.0.1:${port}`;
  const server = new ProcessServer(
    'victoria-metrics',
    port,
    `${base}/write`,
    base,
    'victoria-metrics',
    [
      `-storageDataPath=${data}`,
      `-httpListenAddr=127.0.0.1:${port}`,
      '-retentionPeriod=100y',
      '-search.latencyOffset=0s',
    ],
    '/health',
  );
  await server.start();
  return server;
}

export async function startInfluxDb(dir: string, db: string): Promise<TsdbServer> {
  need('influxd', 'influxdb');
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const root = join(dir, 'influx');
  mkdirSync(root, { recursive: true });
  const config = join(root, 'influxdb.conf');
  const bindPort = await freePort();
  writeFileSync(
    config,
    [
      'reporting-disabled = true',
      `bind-address = "127.0.0.1:${bindPort}"`,
      '[meta]',
      `dir = "${root}/meta"`,
      '[data]',
      `dir = "${root}/data"`,
      `wal-dir = "${root}/wal"`,
      'query-log-enabled = false',
      '[http]',
      `bind-address = "127.0.0.1:${port}"`,
      'log-enabled = false',
      '[monitor]',
      'store-enabled = false',
    ].join('\n'),
  );
  const server = new ProcessServer(
    'influxdb',
    port,
    `${base}/write?db=${db}`,
    base,
    'influxd',
    ['run', '-config', config],
    '/ping',
  );
  await server.start();
  const created = await fetch(`${base}/query?q=${encodeURIComponent(`CREATE DATABASE "${db}"`)}`, { method: 'POST' });
  if (!created.ok) throw new Error(`influxdb: CREATE DATABASE failed: ${await created.text()}`);
  return server;
}
