/**
 * Lowering the CPU priority of the calling thread (a render or match worker), so that on a busy machine the ingest
 * thread, which answers /healthz and reads the listeners, is scheduled before render work. Linux applies
 * setpriority to one thread when given its thread id, which /proc/thread-self names; elsewhere nothing changes.
 */
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';

/** Sets this thread's nice value; false where the platform has no per-thread priority. */
export function niceThisThread(nice: number): boolean {
  let tid: number;
  try {
    tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
  } catch {
    return false;
  }
  if (!Number.isInteger(tid) || tid <= 0) return false;
  // only ever lowered: raising needs privileges a node does not have
  setPriority(tid, nice);
  return true;
}
