/** CPU contention for tests that must hold under load: busy-looping child processes, bounded in time. */
import { spawn, type ChildProcess } from 'node:child_process';
import { setPriority } from 'node:os';

export interface Contention {
  /** Kills every busy loop still running. */
  stop(): void;
}

/**
 * Starts `processes` child processes that each spin for at most `maxMs`. They run at nice 5: still taking a large
 * share of the cores from the programs under test, but leaving timing-sensitive tests in other files of the same
 * run (the StatsD reference daemon's UDP intake) enough to keep up.
 */
export function startBusyLoops(processes: number, maxMs: number): Contention {
  const children: ChildProcess[] = [];
  for (let i = 0; i < processes; i++) {
    const child = spawn(
      process.execPath,
      ['-e', `const end = Date.now() + ${maxMs}; let x = 0; while (Date.now() < end) x = (x * 31 + 7) % 1000003;`],
      { stdio: 'ignore' },
    );
    if (child.pid !== undefined) setPriority(child.pid, 5);
    children.push(child);
  }
  return {
    stop: () => {
      for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}
