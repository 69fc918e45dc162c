/**
 * Bookkeeping shared by the global setup (main vitest process) and the server getters (worker processes).
 *
 * A test run owns one directory, `.cache/run/<runId>/`. Each server has there:
 * - `<name>.json`: its state (where it listens, which process or container to stop, its log);
 * - `<name>.lock/`: a lock directory, so only one worker starts it while the others wait;
 * - `<name>/`: its data, and `<name>.log`: its output.
 * The global teardown stops everything the states name and deletes the data.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { sleep } from '../support/wait.js';

export const repoRoot = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
export const serversDir = join(repoRoot, 'test/servers');
/** Where test/servers/prepare.sh put the jars; CARILLON_SERVERS_CACHE moves it (both read the same variable). */
export const serversCacheDir = process.env.CARILLON_SERVERS_CACHE ?? join(repoRoot, '.cache/servers');
export const runsDir = join(repoRoot, '.cache/run');

/** An error whose message already says how to get the server; nothing needs adding to it. */
export class GuidedError extends Error {}

export const SERVER_NAMES = ['cassandra', 'kafka', 'redis', 'mariadb'] as const;
export type ServerName = (typeof SERVER_NAMES)[number];

export interface ServerState {
  name: ServerName;
  status: 'starting' | 'ready' | 'failed';
  /** How the server was obtained; only 'process' and 'container' are ours to stop. */
  source: 'process' | 'container' | 'existing';
  host?: string;
  port?: number;
  pid?: number;
  /** A string the process's command line contains, so teardown never kills a recycled pid. */
  cmdlineMatch?: string;
  containerId?: string;
  dataDir?: string;
  logFile?: string;
  error?: string;
  startMs?: number;
}

interface RunOwner {
  pid: number;
  createdAt: string;
}

/** The pid of the process that owns the run (the vitest main process), if it is recorded. */
export async function runOwnerPid(runDir: string): Promise<number | undefined> {
  try {
    return (JSON.parse(await readFile(join(runDir, 'owner.json'), 'utf8')) as RunOwner).pid;
  } catch {
    return undefined;
  }
}

export function newRunId(): string {
  return `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

/** Creates `.cache/run/<runId>/` owned by this process. */
export async function createRun(): Promise<string> {
  const dir = join(runsDir, newRunId());
  await mkdir(dir, { recursive: true });
  const owner: RunOwner = { pid: process.pid, createdAt: new Date().toISOString() };
  await writeFile(join(dir, 'owner.json'), JSON.stringify(owner));
  return dir;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but is someone else's.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function statePath(runDir: string, name: ServerName): string {
  return join(runDir, `${name}.json`);
}

export async function readState(runDir: string, name: ServerName): Promise<ServerState | undefined> {
  try {
    return JSON.parse(await readFile(statePath(runDir, name), 'utf8')) as ServerState;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** Writes atomically (rename), so a reader in another worker never sees half a file. */
export async function writeState(runDir: string, state: ServerState): Promise<void> {
  const target = statePath(runDir, state.name);
  const temporary = `${target}.${process.pid}.tmp`;
  await writeFile(temporary, JSON.stringify(state, null, 2));
  await rename(temporary, target);
}

/** Tries once to take the server's lock; a lock whose holder died is broken. */
export async function tryLock(runDir: string, name: ServerName): Promise<boolean> {
  const lockDir = join(runDir, `${name}.lock`);
  try {
    await mkdir(lockDir);
    await writeFile(join(lockDir, 'pid'), String(process.pid));
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  let holder = Number.NaN;
  try {
    holder = Number(await readFile(join(lockDir, 'pid'), 'utf8'));
  } catch {
    // The holder is between mkdir and writing its pid; give it time unless the lock is old.
    const age = Date.now() - (await stat(lockDir).catch(() => ({ mtimeMs: Date.now() }))).mtimeMs;
    if (age < 10_000) return false;
  }
  if (Number.isInteger(holder) && isAlive(holder)) return false;
  await rm(lockDir, { recursive: true, force: true });
  return false;
}

export async function unlock(runDir: string, name: ServerName): Promise<void> {
  await rm(join(runDir, `${name}.lock`), { recursive: true, force: true });
}

function cmdlineOf(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return undefined;
  }
}

/** True when `pid` is alive and still the process we started (where /proc lets us check). */
function isOurProcess(state: ServerState): boolean {
  if (state.pid === undefined || !isAlive(state.pid)) return false;
  const cmdline = cmdlineOf(state.pid);
  return cmdline === undefined || state.cmdlineMatch === undefined || cmdline.includes(state.cmdlineMatch);
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    // Started detached, so the pid is also its process group: this reaches any children too.
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // Already gone.
    }
  }
}

/** SIGTERM, then SIGKILL if it has not exited after `graceMs`. */
export async function stopProcess(state: ServerState, graceMs = 5_000): Promise<void> {
  if (state.pid === undefined || !isOurProcess(state)) return;
  signalGroup(state.pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && isAlive(state.pid)) await sleep(100);
  if (isAlive(state.pid)) signalGroup(state.pid, 'SIGKILL');
}

async function stopContainer(containerId: string): Promise<void> {
  // Imported only here: loading testcontainers costs time and is needed only where Docker runs.
  const { getContainerRuntimeClient } = await import('testcontainers');
  const client = await getContainerRuntimeClient();
  const container = client.container.getById(containerId);
  await client.container.stop(container, { timeout: 10 }).catch(() => undefined);
  await client.container.remove(container, { removeVolumes: true }).catch(() => undefined);
}

async function listStates(runDir: string): Promise<ServerState[]> {
  const states: ServerState[] = [];
  for (const name of SERVER_NAMES) {
    const state = await readState(runDir, name).catch(() => undefined);
    if (state) states.push(state);
  }
  return states;
}

/**
 * Stops every process and container the run started and deletes their data. The run directory goes too,
 * unless a server failed to start: then its log stays where the error message pointed.
 */
export async function stopRun(runDir: string): Promise<void> {
  const states = await listStates(runDir);
  await Promise.all(
    states.map(async (state) => {
      if (state.source === 'process') await stopProcess(state);
      if (state.source === 'container' && state.containerId) await stopContainer(state.containerId);
      if (state.dataDir) await rm(state.dataDir, { recursive: true, force: true });
    }),
  );
  if (states.every((state) => state.status !== 'failed')) await rm(runDir, { recursive: true, force: true });
}

/** Synchronous last resort for a process that exits without a global teardown (used outside vitest). */
export function killRunSync(runDir: string): void {
  for (const name of SERVER_NAMES) {
    try {
      const state = JSON.parse(readFileSync(statePath(runDir, name), 'utf8')) as ServerState;
      if (state.source === 'process' && state.pid !== undefined && isOurProcess(state))
        signalGroup(state.pid, 'SIGKILL');
    } catch {
      // No state for this server.
    }
  }
  rmSync(runDir, { recursive: true, force: true });
}

const keepFailedRunsMs = 24 * 60 * 60 * 1000;

/**
 * Cleans up after runs whose vitest process died without its teardown (killed, crashed): stops their servers,
 * deletes their data, and drops kept failure logs after a day. Runs of live processes are left alone.
 */
export async function cleanStaleRuns(): Promise<void> {
  if (!existsSync(runsDir)) return;
  for (const entry of await readdir(runsDir, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const runDir = join(runsDir, entry.name);
    let owner: RunOwner | undefined;
    try {
      owner = JSON.parse(await readFile(join(runDir, 'owner.json'), 'utf8')) as RunOwner;
    } catch {
      owner = undefined;
    }
    if (owner && isAlive(owner.pid)) continue;
    // stopRun keeps the directory only when a start failed; its log is kept for a day, then dropped too.
    await stopRun(runDir).catch(() => undefined);
    const createdMs = owner ? Date.parse(owner.createdAt) : 0;
    if (Date.now() - createdMs > keepFailedRunsMs) await rm(runDir, { recursive: true, force: true });
  }
}
