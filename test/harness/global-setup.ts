/**
 * Makes this run's directory for the real-server harness (servers.ts) and, when the run ends, stops every
 * server process or container the run started and deletes their data. Servers themselves start lazily,
 * in whichever test file first asks. Also cleans up after earlier runs that died without their teardown.
 */
import type { TestProject } from 'vitest/node';
import { cleanStaleRuns, createRun, stopRun } from './run-state.js';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  await cleanStaleRuns();
  const runDir = await createRun();
  project.provide('carillonRunDir', runDir);
  return async () => {
    await stopRun(runDir);
  };
}
