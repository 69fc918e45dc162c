/**
 * The Testcontainers branch: used only where a container runtime answers (not on machines without Docker).
 *
 * Containers are started from a worker process, but must outlive it: other test files in the run share them.
 * Testcontainers' reaper (Ryuk) removes a session's containers when the process that made them exits, so
 * these are created with `withReuse()` (which leaves out the session label) and a per-run label (so no other
 * run reuses them); the global teardown stops and removes them by id.
 */
import { request } from 'node:http';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, basename } from 'node:path';
import type { StartedTestContainer } from 'testcontainers';
import { freePort } from '../support/ports.js';
import { sleep } from '../support/wait.js';
import { cassandraLocalDataCenter, cqlAnswers, kafkaAnswers } from './local-servers.js';
import type { ServerName, ServerState } from './run-state.js';

export const cassandraImage = 'cassandra:5.0';
export const kafkaImage = 'apache/kafka:3.9.1';
export const redisImage = 'redis:7';

function pingSocket(socketPath: string, timeoutMs: number): Promise<boolean> {
  return new Promise((done) => {
    const ping = request({ socketPath, path: '/_ping', method: 'GET', timeout: timeoutMs }, (response) => {
      response.resume();
      done(response.statusCode === 200);
    });
    ping.once('timeout', () => {
      ping.destroy();
      done(false);
    });
    ping.once('error', () => done(false));
    ping.end();
  });
}

let runtimeAnswer: Promise<boolean> | undefined;

/**
 * Whether a container runtime answers, decided cheaply: no DOCKER_HOST and no socket file means no (no
 * Testcontainers start-up cost); a socket must answer /_ping within 2 s. CARILLON_TEST_CONTAINERS=0 opts out.
 */
export function containerRuntimeAnswers(): Promise<boolean> {
  runtimeAnswer ??= (async () => {
    if (process.env.CARILLON_TEST_CONTAINERS === '0') return false;
    const dockerHost = process.env.DOCKER_HOST;
    if (dockerHost && !dockerHost.startsWith('unix://')) {
      // tcp:// or ssh:// (maybe TLS): let Testcontainers decide, but not for long.
      const { getContainerRuntimeClient } = await import('testcontainers');
      return Promise.race([
        getContainerRuntimeClient().then(
          () => true,
          () => false,
        ),
        sleep(10_000).then(() => false),
      ]);
    }
    const runtimeDir = process.env.XDG_RUNTIME_DIR;
    const uid = process.getuid?.() ?? 0;
    const sockets = [
      dockerHost?.slice('unix://'.length),
      '/var/run/docker.sock',
      join(homedir(), '.docker/run/docker.sock'),
      join(homedir(), '.docker/desktop/docker.sock'),
      runtimeDir && join(runtimeDir, 'docker.sock'),
      runtimeDir && join(runtimeDir, 'podman/podman.sock'),
      `/run/user/${uid}/podman/podman.sock`,
    ].filter((path): path is string => typeof path === 'string' && path.length > 0 && existsSync(path));
    for (const socket of sockets) if (await pingSocket(socket, 2_000)) return true;
    return false;
  })();
  return runtimeAnswer;
}

function containerState(name: ServerName, container: StartedTestContainer, port: number, started: number): ServerState {
  return {
    name,
    status: 'ready',
    source: 'container',
    host: container.getHost(),
    port,
    containerId: container.getId(),
    startMs: Date.now() - started,
  };
}

function runLabel(runDir: string): Record<string, string> {
  return { 'carillon.test-run': basename(runDir) };
}

export async function startCassandraContainer(runDir: string): Promise<ServerState> {
  const { GenericContainer, Wait } = await import('testcontainers');
  const started = Date.now();
  const container = await new GenericContainer(cassandraImage)
    .withReuse()
    .withLabels(runLabel(runDir))
    .withExposedPorts(9042)
    .withEnvironment({
      MAX_HEAP_SIZE: '1G',
      HEAP_NEWSIZE: '256M',
      CASSANDRA_DC: cassandraLocalDataCenter,
      CASSANDRA_NUM_TOKENS: '1',
      JVM_EXTRA_OPTS: '-Dcassandra.skip_wait_for_gossip_to_settle=0 -Dcassandra.unsafesystem=true',
    })
    .withWaitStrategy(Wait.forLogMessage(/Startup complete|Starting listening for CQL clients/))
    .withStartupTimeout(180_000)
    .start();
  const port = container.getMappedPort(9042);
  // The log line comes a moment before CQL sessions are served.
  const deadline = Date.now() + 60_000;
  while (!(await cqlAnswers(container.getHost(), port, cassandraLocalDataCenter).catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`Cassandra container ${container.getId()} never answered CQL`);
    await sleep(500);
  }
  return containerState('cassandra', container, port, started);
}

export async function startKafkaContainer(runDir: string): Promise<ServerState> {
  const { GenericContainer, Wait, getContainerRuntimeClient } = await import('testcontainers');
  const client = await getContainerRuntimeClient();
  const host = client.info.containerRuntime.host;
  // Kafka tells clients where to reconnect (advertised listener), so the host port must be known before it
  // starts: bind the same free port on both sides.
  const port = await freePort();
  const started = Date.now();
  const container = await new GenericContainer(kafkaImage)
    .withReuse()
    .withLabels(runLabel(runDir))
    .withExposedPorts({ container: port, host: port })
    .withEnvironment({
      KAFKA_NODE_ID: '1',
      KAFKA_PROCESS_ROLES: 'broker,controller',
      KAFKA_LISTENERS: `PLAINTEXT://0.0.0.0:${port},CONTROLLER://localhost:9093`,
      KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://${host}:${port}`,
      KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
      KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
      KAFKA_INTER_BROKER_LISTENER_NAME: 'PLAINTEXT',
      KAFKA_CONTROLLER_QUORUM_VOTERS: '1@localhost:9093',
      KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
      KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
      KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
      KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
      KAFKA_NUM_PARTITIONS: '1',
      KAFKA_HEAP_OPTS: '-Xms512m -Xmx512m',
    })
    .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
    .withStartupTimeout(120_000)
    .start();
  const deadline = Date.now() + 30_000;
  while (!(await kafkaAnswers([`${host}:${port}`]).catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`Kafka container ${container.getId()} never listed its topics`);
    await sleep(500);
  }
  return containerState('kafka', container, port, started);
}

export async function startRedisContainer(runDir: string): Promise<ServerState> {
  const { GenericContainer, Wait } = await import('testcontainers');
  const started = Date.now();
  const container = await new GenericContainer(redisImage)
    .withReuse()
    .withLabels(runLabel(runDir))
    .withExposedPorts(6379)
    .withCommand(['redis-server', '--save', '', '--appendonly', 'no'])
    .withWaitStrategy(Wait.forLogMessage(/Ready to accept connections/))
    .withStartupTimeout(60_000)
    .start();
  return containerState('redis', container, container.getMappedPort(6379), started);
}
