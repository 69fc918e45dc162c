/**
 * Real servers for tests. Each getter returns an address, resolved in this order:
 * 1. the environment (CASSANDRA_CONTACT_POINTS, KAFKA_BROKERS, REDIS_URL);
 * 2. Testcontainers, when a container runtime answers (CARILLON_TEST_CONTAINERS=0 skips it);
 * 3. a local process the harness starts itself (jars fetched by test/servers/prepare.sh; redis-server).
 * Redis has one more step before 2: a Redis already answering on 127.0.0.1:6379.
 *
 * Servers start lazily, the first time a test file asks, and once per test run: worker processes share them
 * through a lock and a state file in the run's directory (see run-state.ts). The global teardown stops them.
 * A test that needs a server and finds none fails with a message saying how to get one; it is never skipped.
 */
import { inject } from 'vitest';
import { basename } from 'node:path';
import {
  containerRuntimeAnswers,
  startCassandraContainer,
  startKafkaContainer,
  startRedisContainer,
} from './containers.js';
import {
  canConnect,
  cassandraLocalDataCenter,
  cassandraStartTimeoutMs,
  kafkaStartTimeoutMs,
  redisAnswers,
  startLocalCassandra,
  startLocalKafka,
  startLocalRedis,
  mariadbAnswers,
  startLocalMariadb,
} from './local-servers.js';
import {
  createRun,
  GuidedError,
  killRunSync,
  readState,
  stopProcess,
  tryLock,
  unlock,
  writeState,
  type ServerName,
  type ServerState,
} from './run-state.js';
import { sleep } from '../support/wait.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** `.cache/run/<runId>/`, made by the global setup. */
    carillonRunDir: string;
  }
}

export interface CassandraAddress {
  /** `host:port` strings, ready for cassandra-driver's `contactPoints`. */
  contactPoints: string[];
  localDataCenter: string;
  port: number;
}

export type { ServerState };

let ownRunDir: string | undefined;

/** The run directory the global setup made; outside vitest (a script), one owned by this process. */
export async function runDir(): Promise<string> {
  let provided: string | undefined;
  try {
    provided = inject('carillonRunDir');
  } catch {
    provided = undefined;
  }
  provided ??= process.env.CARILLON_TEST_RUN_DIR;
  if (provided) return provided;
  if (!ownRunDir) {
    const dir = await createRun();
    ownRunDir = dir;
    process.once('exit', () => killRunSync(dir));
  }
  return ownRunDir;
}

const howTo: Record<ServerName, string> = {
  cassandra:
    'Set CASSANDRA_CONTACT_POINTS (host:port,...) to a running Cassandra, run a Docker engine for Testcontainers, ' +
    'or run test/servers/prepare.sh so the harness can start one from Maven Central jars (Java 17).',
  kafka:
    'Set KAFKA_BROKERS (host:port,...) to a running Kafka, run a Docker engine for Testcontainers, ' +
    'or run test/servers/prepare.sh so the harness can start one from Maven Central jars (Java 17).',
  mariadb:
    'Set MYSQL_URL (mysql://user:password@host:port) to a running MySQL/MariaDB, start one on 127.0.0.1:3306 ' +
    'with root and no password, or install mariadb-server (test/servers/prepare.sh does) so the harness starts one.',
  redis:
    'Set REDIS_URL to a running Redis, start one on 127.0.0.1:6379 (redis-server --save ""), ' +
    'run a Docker engine for Testcontainers, or install redis-server (apt-get install -y redis-server).',
};

const startTimeoutMs: Record<ServerName, number> = {
  cassandra: cassandraStartTimeoutMs + 60_000,
  kafka: kafkaStartTimeoutMs + 60_000,
  redis: 60_000,
  mariadb: 120_000,
};

const pending = new Map<ServerName, Promise<ServerState>>();

/**
 * The run's one instance of `name`: returns its state when another worker already started it, waits while
 * another worker is starting it, and otherwise starts it here. A failed start is recorded, so every test
 * file that asks gets the same error at once instead of trying again.
 */
function shared(name: ServerName, start: (dir: string) => Promise<ServerState>): Promise<ServerState> {
  let promise = pending.get(name);
  if (!promise) {
    promise = (async () => {
      const dir = await runDir();
      const deadline = Date.now() + startTimeoutMs[name];
      while (true) {
        const state = await readState(dir, name);
        if (state?.status === 'ready') return state;
        if (state?.status === 'failed') throw new Error(state.error);
        if (await tryLock(dir, name)) {
          try {
            const again = await readState(dir, name);
            if (again?.status === 'ready') return again;
            if (again?.status === 'failed') throw new Error(again.error);
            // A worker died while starting it (the lock was broken): stop its half-started server first.
            if (again?.status === 'starting' && again.source === 'process') await stopProcess(again);
            try {
              const ready = await start(dir);
              await writeState(dir, ready);
              return ready;
            } catch (error) {
              const message =
                error instanceof GuidedError ? error.message : `${(error as Error).message}\n${howTo[name]}`;
              const current = await readState(dir, name);
              await writeState(dir, { ...(current ?? { name, source: 'process' }), status: 'failed', error: message });
              throw new Error(message, { cause: error });
            }
          } finally {
            await unlock(dir, name);
          }
        }
        if (Date.now() > deadline) {
          throw new Error(`Timed out waiting for another test worker to start ${name} (run ${basename(dir)}).`);
        }
        await sleep(250);
      }
    })();
    pending.set(name, promise);
  }
  return promise;
}

function splitList(value: string): string[] {
  return value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item.length > 0);
}

function hostPort(item: string, defaultPort: number): { host: string; port: number } {
  const match = /^\[?([^\]]+?)\]?(?::(\d+))?$/.exec(item);
  return { host: match?.[1] ?? item, port: match?.[2] ? Number(match[2]) : defaultPort };
}

async function requireReachable(variable: string, items: string[], defaultPort: number): Promise<void> {
  for (const item of items) {
    const { host, port } = hostPort(item, defaultPort);
    if (await canConnect(host, port, 3_000)) return;
  }
  throw new Error(
    `${variable}=${items.join(',')} is set, but nothing answers there. Start that server or unset ${variable}.`,
  );
}

/** A Cassandra for tests (CQL native protocol v4+). The first call in a run may take tens of seconds. */
export async function cassandra(): Promise<CassandraAddress> {
  const fromEnv = process.env.CASSANDRA_CONTACT_POINTS;
  if (fromEnv) {
    const points = splitList(fromEnv);
    const defaultPort = Number(process.env.CASSANDRA_PORT ?? 9042);
    await requireReachable('CASSANDRA_CONTACT_POINTS', points, defaultPort);
    const contactPoints = points.map((point) => {
      const { host, port } = hostPort(point, defaultPort);
      return `${host}:${port}`;
    });
    return {
      contactPoints,
      localDataCenter: process.env.CASSANDRA_LOCAL_DC ?? cassandraLocalDataCenter,
      port: hostPort(points[0] ?? '', defaultPort).port,
    };
  }
  const state = await shared('cassandra', async (dir) =>
    (await containerRuntimeAnswers()) ? startCassandraContainer(dir) : startLocalCassandra(dir),
  );
  const port = state.port ?? 9042;
  return { contactPoints: [`${state.host ?? '127.0.0.1'}:${port}`], localDataCenter: cassandraLocalDataCenter, port };
}

/** Kafka bootstrap brokers (`host:port`) for tests. */
export async function kafkaBrokers(): Promise<string[]> {
  const fromEnv = process.env.KAFKA_BROKERS;
  if (fromEnv) {
    const brokers = splitList(fromEnv);
    await requireReachable('KAFKA_BROKERS', brokers, 9092);
    return brokers;
  }
  const state = await shared('kafka', async (dir) =>
    (await containerRuntimeAnswers()) ? startKafkaContainer(dir) : startLocalKafka(dir),
  );
  return [`${state.host ?? '127.0.0.1'}:${state.port ?? 9092}`];
}

/** A Redis URL for tests. Tests share one Redis: prefix keys with `uniqueName()`. */
export async function redisUrl(): Promise<string> {
  const fromEnv = process.env.REDIS_URL;
  if (fromEnv) {
    const { hostname, port } = new URL(fromEnv);
    if (await redisAnswers(hostname, Number(port || 6379), 3_000)) return fromEnv;
    throw new Error(`REDIS_URL=${fromEnv} is set, but no Redis answers there. Start that Redis or unset REDIS_URL.`);
  }
  if (await redisAnswers('127.0.0.1', 6379)) return 'redis://127.0.0.1:6379';
  const state = await shared('redis', async (dir) =>
    (await containerRuntimeAnswers()) ? startRedisContainer(dir) : startLocalRedis(dir),
  );
  return `redis://${state.host ?? '127.0.0.1'}:${state.port ?? 6379}`;
}

export interface MysqlAddress {
  host: string;
  port: number;
  user: string;
  password: string;
}

/**
 * A MySQL/MariaDB server for tests: MYSQL_URL, else one answering on 127.0.0.1:3306 (root, no password), else a
 * `mariadbd` the harness starts. Tests share it: each makes its own database (`uniqueName`) and drops it.
 */
export async function mysqlServer(): Promise<MysqlAddress> {
  const fromEnv = process.env.MYSQL_URL;
  if (fromEnv) {
    const url = new URL(fromEnv);
    const address = {
      host: url.hostname,
      port: Number(url.port || 3306),
      user: decodeURIComponent(url.username || 'root'),
      password: decodeURIComponent(url.password),
    };
    if (await canConnect(address.host, address.port, 3_000)) return address;
    // Never print the password.
    throw new Error(`MYSQL_URL (${address.host}:${address.port}) is set, but nothing answers there.`);
  }
  const local = { host: '127.0.0.1', port: 3306, user: 'root', password: '' };
  if (await mariadbAnswers(local.host, local.port).catch(() => false)) return local;
  const state = await shared('mariadb', startLocalMariadb);
  return { host: state.host ?? '127.0.0.1', port: state.port ?? 3306, user: 'root', password: '' };
}

/** How the run's server was obtained and how long it took to start; undefined if this run did not start it. */
export async function serverState(name: ServerName): Promise<ServerState | undefined> {
  return readState(await runDir(), name);
}

let nameCounter = 0;
const runTag = `${Date.now().toString(36).slice(-5)}${process.pid.toString(36)}`;

/**
 * A name no other test, worker or run uses: `<prefix>_<time+pid>_<n>`, lower case, only [a-z0-9_].
 * Use it for Redis key prefixes and anything else that must not collide.
 */
export function uniqueName(prefix: string, separator = '_', maxLength = 48): string {
  nameCounter += 1;
  const suffix = `${separator}${runTag}${separator}${nameCounter}`;
  const cleanPrefix = prefix.toLowerCase().replace(/[^a-z0-9_]/g, '_') || 't';
  return `${cleanPrefix.slice(0, Math.max(1, maxLength - suffix.length))}${suffix}`;
}

/** A keyspace name for this test alone (Cassandra: a letter first, [a-z0-9_], at most 48 characters). */
export function uniqueKeyspace(prefix = 'test'): string {
  const name = uniqueName(prefix, '_', 48);
  return /^[a-z]/.test(name) ? name : `k${name}`.slice(0, 48);
}

/** A topic name for this test alone (Kafka: [a-zA-Z0-9._-], at most 249 characters). */
export function uniqueTopic(prefix = 'test'): string {
  nameCounter += 1;
  const cleanPrefix = prefix.replace(/[^a-zA-Z0-9._-]/g, '-') || 't';
  return `${cleanPrefix.slice(0, 200)}-${runTag}-${nameCounter}`;
}
