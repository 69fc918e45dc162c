/**
 * The reference StatsD daemon (npm `statsd` 0.9.0, a dev dependency) as a child process, its Graphite backend
 * pointed at a local TCP capture, started so that its flushes fall on wall-clock multiples of the interval.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { sleep } from '../support/wait.js';
import { repoRoot } from '../e2e/programs.js';

/** Every `name value timestamp` line the reference's Graphite backend sent, by timestamp. */
export class GraphiteCapture {
  readonly byTime = new Map<number, Map<string, number>>();
  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static start(): Promise<GraphiteCapture> {
    return new Promise((resolve, reject) => {
      let capture: GraphiteCapture | undefined;
      const server = createServer((socket) => {
        let text = '';
        socket.setEncoding('utf8');
        socket.on('data', (chunk: string) => (text += chunk));
        socket.on('end', () => capture?.record(text));
      });
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        capture = new GraphiteCapture(server, (server.address() as { port: number }).port);
        resolve(capture);
      });
    });
  }

  private record(text: string): void {
    for (const line of text.split('\n')) {
      if (line === '') continue;
      const [name, value, time] = line.split(' ');
      if (name === undefined || value === undefined || time === undefined) throw new Error(`bad line "${line}"`);
      const t = Number(time);
      let values = this.byTime.get(t);
      if (values === undefined) this.byTime.set(t, (values = new Map()));
      // The reference prints numbers with JavaScript's shortest round-trip form: Number() reads them back exactly.
      values.set(name, Number(value));
    }
  }

  /** Waits until a flush stamped `time` or later arrived; returns the earliest such stamp. */
  async waitForFlush(time: number, timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const stamps = [...this.byTime.keys()].filter((t) => t >= time);
      if (stamps.length > 0) return Math.min(...stamps);
      await sleep(20);
    }
    throw new Error(`the reference daemon sent no flush stamped ${time} or later within ${timeoutMs} ms`);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** The reference's UDP receive buffer: carillon's in this test (test/statsd/carillon.ts). */
export const REFERENCE_UDP_RECEIVE_BUFFER_BYTES = 4 * 1024 * 1024;

export interface ReferenceDaemon {
  udpPort: number;
  capture: GraphiteCapture;
  /** Stamp of the first flush: a multiple of the interval. */
  firstFlush: number;
  output(): string;
  stop(): Promise<void>;
}

/**
 * Starts `node --import util-log-shim.mjs node_modules/statsd/stats.js <config>` with `options` (reference
 * option names, `graphite.*` nested as there). The daemon flushes every `flushInterval` from `startup_time = round(now / 1000)`, so it is
 * spawned a quarter second before a multiple of the interval, and restarted if its first flush is not on one.
 */
export async function startReferenceDaemon(
  dir: string,
  options: Record<string, unknown>,
  stepSeconds: number,
  udpPort: number,
  mgmtPort: number,
): Promise<ReferenceDaemon> {
  for (let attempt = 0; attempt < 4; attempt++) {
    const capture = await GraphiteCapture.start();
    const configFile = join(dir, `reference-${attempt}.js`);
    const config = {
      ...options,
      servers: [
        {
          server: join(repoRoot, 'test/statsd/reference-udp-server.mjs'),
          port: udpPort,
          address: '127.0.0.1',
          recvBufferSize: REFERENCE_UDP_RECEIVE_BUFFER_BYTES,
        },
      ],
      mgmt_port: mgmtPort,
      mgmt_address: '127.0.0.1',
      graphiteHost: '127.0.0.1',
      graphitePort: capture.port,
      flushInterval: stepSeconds * 1000,
      automaticConfigReload: false,
    };
    writeFileSync(configFile, JSON.stringify(config, null, 2));

    const stepMs = stepSeconds * 1000;
    const boundary = Math.ceil((Date.now() + 600) / stepMs) * stepMs;
    await sleep(boundary - 250 - Date.now());
    const daemonArgs = [
      '--import',
      join(repoRoot, 'test/statsd/util-log-shim.mjs'),
      join(repoRoot, 'node_modules/statsd/stats.js'),
    ];
    const child = spawn(process.execPath, [...daemonArgs, configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const stop = async (): Promise<void> => {
      await stopChild(child);
      await capture.close();
    };
    try {
      const firstFlush = await capture.waitForFlush(0, stepMs + 5000);
      if (firstFlush % stepSeconds === 0) return { udpPort, capture, firstFlush, output: () => output, stop };
    } catch (error) {
      await stop();
      throw new Error(`${(error as Error).message}\n${output}`);
    }
    await stop();
  }
  throw new Error('the reference daemon did not start on an interval boundary in 4 attempts');
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGKILL');
  await exited;
}
