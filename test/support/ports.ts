/** Free loopback ports for tests and benches that start real listeners. */
import { mkdirSync, openSync, closeSync, statSync, utimesSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Ports handed out by any test process on this machine, one file each: the OS may give a port just handed out
 * (and not yet bound) to another test file running beside it, and a relay's listeners share a port with
 * SO_REUSEPORT instead of failing, so two tests would silently split one port's traffic. A claim older than
 * CLAIM_MS is stale (its test is over) and taken again.
 */
const CLAIMS_DIR = join(tmpdir(), 'carillon-test-ports');
const CLAIM_MS = 15 * 60_000;
const MAX_TRIES = 100;

/** A TCP port on 127.0.0.1 that was free a moment ago (the OS picks it), handed out once per CLAIM_MS. */
export async function freePort(): Promise<number> {
  mkdirSync(CLAIMS_DIR, { recursive: true });
  for (let tries = 0; tries < MAX_TRIES; tries++) {
    const port = await osFreePort();
    if (claim(port)) return port;
  }
  throw new Error(`no unclaimed free port after ${MAX_TRIES} tries (claims in ${CLAIMS_DIR})`);
}

/** Whether this process may hand out `port`: no claim on it, or only a stale one (renewed for this process). */
function claim(port: number): boolean {
  const path = join(CLAIMS_DIR, String(port));
  try {
    closeSync(openSync(path, 'wx'));
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  if (Date.now() - statSync(path).mtimeMs < CLAIM_MS) return false;
  const now = new Date();
  utimesSync(path, now, now);
  return true;
}

function osFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    // Never keeps a process alive, even if close is slow (the harness asks for ports from global setup too).
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port assigned')),
      );
    });
  });
}
