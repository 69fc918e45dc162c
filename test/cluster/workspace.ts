/**
 * A cluster test file's workspace: a temp root for its programs' files, the programs it started, and the CPU
 * contention it runs under. After all its tests the programs still running are killed, the busy loops stopped and
 * the root removed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { startBusyLoops, type Contention } from '../support/contention.js';
import type { RunningProgram } from '../e2e/programs.js';

export interface ClusterWorkspace {
  root: string;
  /** Every program the tests start: startStaticCluster and startAccumulator/startRelay add theirs. */
  running: { program: RunningProgram }[];
  /** Busy loops (startBusyLoops), stopped after all tests unless stopped before. */
  contend(processes: number, maxMs: number): Contention;
}

/** Call in a `describe`: `name` names the temp root (`carillon-<name>-…`). */
export function useClusterWorkspace(name: string): ClusterWorkspace {
  const root = mkdtempSync(join(tmpdir(), `carillon-${name}-`));
  const running: { program: RunningProgram }[] = [];
  const loops: Contention[] = [];
  afterAll(() => {
    for (const contention of loops) contention.stop();
    for (const r of running) if (r.program.child.exitCode === null) r.program.child.kill('SIGKILL');
    rmSync(root, { recursive: true, force: true });
  });
  return {
    root,
    running,
    contend: (processes, maxMs) => {
      const contention = startBusyLoops(processes, maxMs);
      loops.push(contention);
      return contention;
    },
  };
}
