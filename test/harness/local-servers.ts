/**
 * Starts real servers as local processes when neither the environment nor a container runtime provides them:
 * Cassandra and Kafka from the jars test/servers/prepare.sh fetched, Redis from an installed redis-server.
 * Each process is detached (it outlives the worker that started it) and writes to a log file; the global
 * teardown stops it. Readiness means a real client gets a real answer, not just an open port.
 */
import { spawn, execFile } from 'node:child_process';
import { existsSync, openSync, closeSync, readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import cassandra from 'cassandra-driver';
import { Kafka, logLevel } from 'kafkajs';
import {
  GuidedError,
  isAlive,
  runOwnerPid,
  serversCacheDir,
  serversDir,
  writeState,
  type ServerName,
  type ServerState,
} from './run-state.js';
import { freePort } from '../support/ports.js';
import { sleep } from '../support/wait.js';

const execFileAsync = promisify(execFile);

export const cassandraStartTimeoutMs = 180_000;
export const kafkaStartTimeoutMs = 120_000;
const redisStartTimeoutMs = 20_000;

export function canConnect(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((done) => {
    const socket = createConnection({ host, port });
    const finish = (ok: boolean): void => {
      socket.destroy();
      done(ok);
    };
    socket.setTimeout(timeoutMs, () => finish(false));
    socket.once('connect', () => finish(true));
    socket.once('error', () => finish(false));
  });
}

/** True when a Redis answers PING (or demands a password, which still means a Redis is there). */
export function redisAnswers(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((done) => {
    const socket = createConnection({ host, port });
    let reply = '';
    const finish = (ok: boolean): void => {
      socket.destroy();
      done(ok);
    };
    socket.setTimeout(timeoutMs, () => finish(false));
    socket.once('connect', () => socket.write('*1\r\n$4\r\nPING\r\n'));
    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString('latin1');
      if (reply.includes('\r\n')) finish(reply.startsWith('+PONG') || reply.startsWith('-NOAUTH'));
    });
    socket.once('error', () => finish(false));
  });
}

function tail(file: string, lines = 30): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log written)';
  }
}

function startFailure(server: string, what: string, logFile: string): Error {
  return new Error(`${server} did not start: ${what}. Its log is ${logFile}; last lines:\n${tail(logFile)}`);
}

function missingJars(server: string, envVar: string): Error {
  return new GuidedError(
    `${server} jars are missing in ${join(serversCacheDir, server.toLowerCase(), 'lib')}. ` +
      `Run test/servers/prepare.sh (needs Java 17 and Maven; fetches from Maven Central), ` +
      `or set ${envVar} to a running ${server}, or run a Docker engine so Testcontainers can start one.`,
  );
}

async function render(template: string, target: string, values: Record<string, string | number>): Promise<void> {
  let text = await readFile(template, 'utf8');
  for (const [key, value] of Object.entries(values)) text = text.replaceAll(`__${key}__`, String(value));
  await writeFile(target, text);
}

interface Launch {
  name: ServerName;
  runDir: string;
  command: string;
  args: string[];
  cmdlineMatch: string;
  dataDir: string;
  host: string;
  port: number;
}

/** Spawns the server detached with output to its log, and records it at once so teardown can stop it. */
async function launch(spec: Launch): Promise<{ state: ServerState; exited: () => boolean }> {
  const logFile = join(spec.runDir, `${spec.name}.log`);
  const logFd = openSync(logFile, 'a');
  const child = spawn(spec.command, spec.args, { detached: true, stdio: ['ignore', logFd, logFd], cwd: spec.dataDir });
  closeSync(logFd);
  let exitCode: number | null | undefined;
  child.once('exit', (code, signal) => (exitCode = code ?? (signal ? -1 : null)));
  const spawnError = await new Promise<Error | undefined>((done) => {
    child.once('spawn', () => done(undefined));
    child.once('error', done);
  });
  if (spawnError || child.pid === undefined) {
    throw new Error(
      `could not run ${spec.command} for ${spec.name}: ${spawnError?.message ?? 'no pid'}. Is it installed?`,
    );
  }
  child.unref();
  const pid = child.pid;
  await watchOwner(spec.runDir, pid);
  const state: ServerState = {
    name: spec.name,
    status: 'starting',
    source: 'process',
    host: spec.host,
    port: spec.port,
    pid,
    cmdlineMatch: spec.cmdlineMatch,
    dataDir: spec.dataDir,
    logFile,
  };
  await writeState(spec.runDir, state);
  return { state, exited: () => exitCode !== undefined || !isAlive(pid) };
}

/**
 * Kills the server if the run's owner (the vitest main process) dies without its teardown, e.g. on SIGKILL
 * or a crash, so no 1 GB JVM outlives its run. A tiny detached shell loop; it exits with the server.
 */
export async function watchOwner(runDir: string, serverPid: number): Promise<void> {
  const ownerPid = (await runOwnerPid(runDir)) ?? process.pid;
  const loop =
    'while kill -0 "$1" 2>/dev/null && kill -0 "$2" 2>/dev/null; do sleep 2; done; kill -KILL -"$2" 2>/dev/null';
  const watchdog = spawn('sh', ['-c', loop, 'carillon-test-watchdog', String(ownerPid), String(serverPid)], {
    detached: true,
    stdio: 'ignore',
  });
  watchdog.once('error', () => undefined);
  watchdog.unref();
}

/** Polls `probe` until it answers true, the process exits, or the deadline passes. */
export async function waitUntilReady(
  server: string,
  logFile: string,
  exited: () => boolean,
  timeoutMs: number,
  probe: () => Promise<boolean>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exited()) throw startFailure(server, 'the process exited during start-up', logFile);
    if (await probe().catch(() => false)) return;
    await sleep(500);
  }
  throw startFailure(server, `no answer within ${timeoutMs / 1000} s`, logFile);
}

// From Cassandra 5.0's conf/jvm17-server.options: the JDK internals it reaches into.
const java17ModuleFlags = [
  '--add-exports=java.base/jdk.internal.misc=ALL-UNNAMED',
  '--add-exports=java.base/jdk.internal.ref=ALL-UNNAMED',
  '--add-exports=java.base/sun.nio.ch=ALL-UNNAMED',
  '--add-exports=java.management.rmi/com.sun.jmx.remote.internal.rmi=ALL-UNNAMED',
  '--add-exports=java.rmi/sun.rmi.registry=ALL-UNNAMED',
  '--add-exports=java.rmi/sun.rmi.server=ALL-UNNAMED',
  '--add-exports=java.sql/java.sql=ALL-UNNAMED',
  '--add-exports=java.base/java.lang.ref=ALL-UNNAMED',
  '--add-exports=jdk.unsupported/sun.misc=ALL-UNNAMED',
  '--add-exports=jdk.compiler/com.sun.tools.javac.file=ALL-UNNAMED',
  '--add-exports=jdk.attach/sun.tools.attach=ALL-UNNAMED',
  '--add-opens=java.base/java.lang.module=ALL-UNNAMED',
  '--add-opens=java.base/jdk.internal.loader=ALL-UNNAMED',
  '--add-opens=java.base/jdk.internal.ref=ALL-UNNAMED',
  '--add-opens=java.base/jdk.internal.reflect=ALL-UNNAMED',
  '--add-opens=java.base/jdk.internal.math=ALL-UNNAMED',
  '--add-opens=java.base/jdk.internal.module=ALL-UNNAMED',
  '--add-opens=java.base/jdk.internal.util.jar=ALL-UNNAMED',
  '--add-opens=jdk.management/com.sun.management.internal=ALL-UNNAMED',
  '--add-opens=java.base/sun.nio.ch=ALL-UNNAMED',
  '--add-opens=java.base/java.io=ALL-UNNAMED',
  '--add-opens=java.base/java.nio=ALL-UNNAMED',
  '--add-opens=java.base/java.lang.reflect=ALL-UNNAMED',
  '--add-opens=jdk.compiler/com.sun.tools.javac=ALL-UNNAMED',
  '--add-opens=java.base/java.lang=ALL-UNNAMED',
  '--add-opens=java.base/java.util=ALL-UNNAMED',
];

export const cassandraLocalDataCenter = 'datacenter1';

/** True when a CQL session answers the query every readiness check in this harness uses. */
export async function cqlAnswers(host: string, port: number, localDataCenter: string): Promise<boolean> {
  const client = new cassandra.Client({
    contactPoints: [`${host}:${port}`],
    localDataCenter,
    socketOptions: { connectTimeout: 5_000, readTimeout: 10_000 },
  });
  try {
    await client.connect();
    const result = await client.execute('SELECT release_version FROM system.local');
    return result.rows.length === 1;
  } finally {
    await client.shutdown().catch(() => undefined);
  }
}

export async function startLocalCassandra(runDir: string): Promise<ServerState> {
  const lib = join(serversCacheDir, 'cassandra/lib');
  if (!existsSync(lib) || !(await hasJar(lib, 'cassandra-all-')))
    throw missingJars('Cassandra', 'CASSANDRA_CONTACT_POINTS');
  const dataDir = join(runDir, 'cassandra');
  await mkdir(dataDir, { recursive: true });
  const [nativePort, storagePort] = [await freePort(), await freePort()];
  const yaml = join(dataDir, 'cassandra.yaml');
  await render(join(serversDir, 'cassandra/cassandra.yaml'), yaml, {
    DIR: dataDir,
    NATIVE_PORT: nativePort,
    STORAGE_PORT: storagePort,
  });
  const args = [
    '-Xms1g',
    '-Xmx1g',
    '-XX:+UseG1GC',
    '-XX:+ParallelRefProcEnabled',
    '-XX:MaxTenuringThreshold=1',
    '-XX:G1HeapRegionSize=16m',
    '-XX:+ExitOnOutOfMemoryError',
    '-Djdk.attach.allowAttachSelf=true',
    '-Dio.netty.tryReflectionSetAccessible=true',
    ...java17ModuleFlags,
    `-Dcassandra.config=file://${yaml}`,
    '-Dcassandra-foreground=yes',
    `-Dcassandra.storagedir=${dataDir}`,
    `-Dcassandra.logdir=${dataDir}`,
    `-Dlogback.configurationFile=${join(serversDir, 'cassandra/logback.xml')}`,
    '-Djava.net.preferIPv4Stack=true',
    // A lone seed has no gossip to settle and no system data worth fsyncing.
    '-Dcassandra.skip_wait_for_gossip_to_settle=0',
    '-Dcassandra.unsafesystem=true',
    '-cp',
    `${lib}/*`,
    'org.apache.cassandra.service.CassandraDaemon',
  ];
  const host = '127.0.0.1';
  const started = Date.now();
  const { state, exited } = await launch({
    name: 'cassandra',
    runDir,
    command: 'java',
    args,
    cmdlineMatch: yaml,
    dataDir,
    host,
    port: nativePort,
  });
  await waitUntilReady('Cassandra', state.logFile ?? '(unknown)', exited, cassandraStartTimeoutMs, async () =>
    (await canConnect(host, nativePort)) ? cqlAnswers(host, nativePort, cassandraLocalDataCenter) : false,
  );
  return { ...state, status: 'ready', startMs: Date.now() - started };
}

/** True when a Kafka admin client can list the topics. */
export async function kafkaAnswers(brokers: string[]): Promise<boolean> {
  const admin = new Kafka({
    clientId: 'carillon-test-harness',
    brokers,
    connectionTimeout: 3_000,
    requestTimeout: 5_000,
    retry: { retries: 0 },
    logLevel: logLevel.NOTHING,
  }).admin();
  try {
    await admin.connect();
    await admin.listTopics();
    return true;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

export async function startLocalKafka(runDir: string): Promise<ServerState> {
  const lib = join(serversCacheDir, 'kafka/lib');
  if (!existsSync(lib) || !(await hasJar(lib, 'kafka_2.13-'))) throw missingJars('Kafka', 'KAFKA_BROKERS');
  const dataDir = join(runDir, 'kafka');
  await mkdir(dataDir, { recursive: true });
  const [brokerPort, controllerPort] = [await freePort(), await freePort()];
  const properties = join(dataDir, 'server.properties');
  await render(join(serversDir, 'kafka/server.properties'), properties, {
    DIR: dataDir,
    BROKER_PORT: brokerPort,
    CONTROLLER_PORT: controllerPort,
  });
  const jvm = [
    '-Xms512m',
    '-Xmx512m',
    '-XX:+UseG1GC',
    '-XX:+ExitOnOutOfMemoryError',
    '-Djava.awt.headless=true',
    `-Dlog4j.configuration=file:${join(serversDir, 'kafka/log4j.properties')}`,
    '-cp',
    `${lib}/*`,
  ];
  const started = Date.now();
  const logFile = join(runDir, 'kafka.log');
  // A KRaft cluster id is 16 random bytes in URL-safe base64, which is what `StorageTool random-uuid` prints.
  const clusterId = randomBytes(16).toString('base64url');
  try {
    const { stdout, stderr } = await execFileAsync(
      'java',
      [...jvm, 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', properties, '-g'],
      { timeout: 60_000 },
    );
    await writeFile(logFile, `${stdout}${stderr}`);
  } catch (error) {
    await writeFile(logFile, String((error as { stderr?: string }).stderr ?? error));
    throw startFailure('Kafka', 'formatting its storage (kafka.tools.StorageTool format) failed', logFile);
  }
  const host = '127.0.0.1';
  const { state, exited } = await launch({
    name: 'kafka',
    runDir,
    command: 'java',
    args: [...jvm, 'kafka.Kafka', properties],
    cmdlineMatch: properties,
    dataDir,
    host,
    port: brokerPort,
  });
  await waitUntilReady('Kafka', state.logFile ?? '(unknown)', exited, kafkaStartTimeoutMs, async () =>
    (await canConnect(host, brokerPort)) ? kafkaAnswers([`${host}:${brokerPort}`]) : false,
  );
  return { ...state, status: 'ready', startMs: Date.now() - started };
}

export async function startLocalRedis(runDir: string): Promise<ServerState> {
  const dataDir = join(runDir, 'redis');
  await mkdir(dataDir, { recursive: true });
  const host = '127.0.0.1';
  const port = await freePort();
  const started = Date.now();
  const { state, exited } = await launch({
    name: 'redis',
    runDir,
    command: 'redis-server',
    // No persistence: test data is thrown away with the run.
    args: ['--bind', host, '--port', String(port), '--save', '', '--appendonly', 'no', '--dir', dataDir],
    // redis-server rewrites its process title to `redis-server 127.0.0.1:<port>`; the port is in both forms.
    cmdlineMatch: String(port),
    dataDir,
    host,
    port,
  });
  await waitUntilReady('Redis', state.logFile ?? '(unknown)', exited, redisStartTimeoutMs, () =>
    redisAnswers(host, port),
  );
  return { ...state, status: 'ready', startMs: Date.now() - started };
}

async function hasJar(lib: string, prefix: string): Promise<boolean> {
  return (await readdir(lib)).some((file) => file.startsWith(prefix) && file.endsWith('.jar'));
}

/** True when a MySQL/MariaDB server at host:port lets root (no password) run `SELECT 1`. */
export async function mariadbAnswers(host: string, port: number, timeoutMs = 3_000): Promise<boolean> {
  const mysql = await import('mysql2/promise');
  const connection = await mysql.createConnection({ host, port, user: 'root', connectTimeout: timeoutMs });
  try {
    const [rows] = await connection.query({ sql: 'SELECT 1 AS one', timeout: timeoutMs });
    return Array.isArray(rows) && rows.length === 1;
  } finally {
    connection.destroy();
  }
}

/**
 * Makes a fresh MariaDB data directory (root without a password, reachable on 127.0.0.1 only) and returns the
 * `mariadbd` arguments that serve it on `port`. Small buffers: a test server on a shared 2-core machine.
 */
export async function prepareMariadb(dataDir: string, port: number): Promise<string[]> {
  const data = join(dataDir, 'data');
  if (!existsSync(join(data, 'mysql'))) {
    await mkdir(dataDir, { recursive: true });
    try {
      await execFileAsync(
        'mariadb-install-db',
        [
          '--no-defaults',
          `--datadir=${data}`,
          '--auth-root-authentication-method=normal',
          '--skip-test-db',
          ...(process.getuid?.() === 0 ? ['--user=root'] : []),
        ],
        { timeout: 120_000 },
      );
    } catch (error) {
      throw new Error(
        `mariadb-install-db failed (${(error as Error).message}). Is mariadb-server installed ` +
          `(apt-get install -y mariadb-server, which test/servers/prepare.sh does)?`,
      );
    }
  }
  return [
    '--no-defaults',
    `--datadir=${data}`,
    `--port=${port}`,
    '--bind-address=127.0.0.1',
    `--socket=${join(dataDir, 'mariadb.sock')}`,
    `--pid-file=${join(dataDir, 'mariadb.pid')}`,
    ...(process.getuid?.() === 0 ? ['--user=root'] : []),
    '--skip-name-resolve',
    '--skip-log-bin',
    '--innodb-buffer-pool-size=64M',
    '--innodb-log-file-size=32M',
    // Test data is thrown away: no fsync per commit.
    '--innodb-flush-log-at-trx-commit=2',
    '--max-connections=200',
  ];
}

export async function startLocalMariadb(runDir: string): Promise<ServerState> {
  const dataDir = join(runDir, 'mariadb');
  const host = '127.0.0.1';
  const port = await freePort();
  const started = Date.now();
  const args = await prepareMariadb(dataDir, port);
  const { state, exited } = await launch({
    name: 'mariadb',
    runDir,
    command: 'mariadbd',
    args,
    cmdlineMatch: dataDir,
    dataDir,
    host,
    port,
  });
  await waitUntilReady('MariaDB', state.logFile ?? '(unknown)', exited, 60_000, () => mariadbAnswers(host, port));
  return { ...state, status: 'ready', startMs: Date.now() - started };
}
