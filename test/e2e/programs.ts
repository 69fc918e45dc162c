/** Starting the built programs as child processes, on free loopback ports, for end-to-end tests. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync } from 'node:fs';
import { createConnection } from 'node:net';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

export function builtProgram(relativePath: string): string {
  const path = `${repoRoot}${relativePath}`;
  if (!existsSync(path))
    throw new Error(`${relativePath} is not built: run \`npm run build\` (npm test does it first)`);
  return path;
}

/** One series of a `/render?format=json` answer. */
export interface RenderedSeries {
  target: string;
  datapoints: [number | null, number][];
}

/** A sample of /metrics text by full name and exact label text (`{writer="redis"}`), or 0 when absent. */
export function metricValue(text: string, name: string, labels = ''): number {
  const sample = `${name}${labels} `;
  const line = text.split('\n').find((l) => l.startsWith(sample));
  return line === undefined ? 0 : Number(line.slice(sample.length));
}

export interface RunningProgram {
  child: ChildProcess;
  output: () => string;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
}

/** Starts `node <program> <args>` and resolves once a log line contains `readyText`. */
export function startProgram(
  program: string,
  args: string[],
  readyText: string,
  timeoutMs = 20_000,
  /** Node's own flags before the program (e.g. `--max-old-space-size=512`). */
  nodeArgs: string[] = [],
): Promise<RunningProgram> {
  const child = spawn(process.execPath, [...nodeArgs, builtProgram(program), ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${program} did not log "${readyText}" within ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      if (output.includes(readyText)) {
        clearTimeout(timer);
        resolve({
          child,
          output: () => output,
          stop: async () => {
            if (child.exitCode === null) child.kill('SIGTERM');
            return exited;
          },
        });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${program} exited with ${code} before it was ready:\n${output}`));
    });
  });
}

/** Runs a program to completion and returns its exit code and output. */
export function runProgram(
  program: string,
  args: string[],
  timeoutMs = 20_000,
): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, [builtProgram(program), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${program} did not exit within ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

export function sendTcp(port: number, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: '127.0.0.1', port }, () => socket.end(text));
    socket.setTimeout(5000, () => socket.destroy(new Error('TCP send timed out')));
    socket.once('close', (hadError) => (hadError ? undefined : resolve()));
    socket.once('error', reject);
  });
}

export function sendUdp(port: number, datagrams: string[]): Promise<void> {
  const socket = createSocket('udp4');
  return new Promise((resolve, reject) => {
    let left = datagrams.length;
    for (const datagram of datagrams) {
      socket.send(datagram, port, '127.0.0.1', (error) => {
        if (error) reject(error);
        else if (--left === 0) {
          socket.close();
          resolve();
        }
      });
    }
  });
}

export async function getJson<T>(url: string): Promise<T> {
  const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
  if (!response.ok) throw new Error(`GET ${url}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

export async function getText(url: string): Promise<string> {
  const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
  return response.text();
}
