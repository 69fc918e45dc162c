/**
 * A Kafka of the test's own (not the harness's shared one), for fault tests that stop the broker and start it
 * again: single-node KRaft from the jars test/servers/prepare.sh fetches, on free ports chosen once, its storage
 * formatted once and kept across restarts so the topics and their messages survive.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { freePort } from './ports.js';
import { waitFor } from './wait.js';

const execFileAsync = promisify(execFile);
const repoRoot = join(import.meta.dirname, '..', '..');
const serversDir = join(repoRoot, 'test/servers');
const lib = join(process.env.CARILLON_SERVERS_CACHE ?? join(repoRoot, '.cache/servers'), 'kafka/lib');

export interface KafkaProcess {
  readonly brokers: string[];
  start(): Promise<void>;
  stop(): Promise<void>;
}

async function answers(brokers: string[]): Promise<boolean> {
  const admin = new Kafka({
    brokers,
    connectionTimeout: 2_000,
    requestTimeout: 3_000,
    retry: { retries: 0 },
    logLevel: logLevel.NOTHING,
  }).admin();
  try {
    await admin.connect();
    await admin.listTopics();
    return true;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

export async function startKafkaProcess(dir: string): Promise<KafkaProcess> {
  if (!existsSync(lib)) throw new Error(`Kafka jars are missing in ${lib}: run test/servers/prepare.sh`);
  mkdirSync(dir, { recursive: true });
  const [brokerPort, controllerPort] = [await freePort(), await freePort()];
  const properties = join(dir, 'server.properties');
  writeFileSync(
    properties,
    readFileSync(join(serversDir, 'kafka/server.properties'), 'utf8')
      .replaceAll('__DIR__', dir)
      .replaceAll('__BROKER_PORT__', String(brokerPort))
      .replaceAll('__CONTROLLER_PORT__', String(controllerPort)),
  );
  const jvm = [
    '-Xms384m',
    '-Xmx384m',
    '-XX:+UseG1GC',
    '-Djava.awt.headless=true',
    `-Dlog4j.configuration=file:${join(serversDir, 'kafka/log4j.properties')}`,
    '-cp',
    `${lib}/*`,
  ];
  await execFileAsync(
    'java',
    [...jvm, 'kafka.tools.StorageTool', 'format', '-t', randomBytes(16).toString('base64url'), '-c', properties, '-g'],
    { timeout: 60_000 },
  );
  const brokers = [`127.0.0.1:${brokerPort}`];
  let child: ChildProcess | undefined;
  let log = '';
  const server: KafkaProcess = {
    brokers,
    async start() {
      const c = spawn('java', [...jvm, 'kafka.Kafka', properties], { stdio: ['ignore', 'pipe', 'pipe'] });
      child = c;
      c.stdout?.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-4000)));
      c.stderr?.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-4000)));
      await waitFor(
        `the test's Kafka on ${brokers[0]}`,
        async () => {
          if (c.exitCode !== null) throw new Error(`Kafka exited: ${log}`);
          return answers(brokers);
        },
        120_000,
        500,
      );
    },
    async stop() {
      const c = child;
      child = undefined;
      if (c === undefined || c.exitCode !== null) return;
      const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
      c.kill('SIGTERM');
      const timer = setTimeout(() => c.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(timer);
    },
  };
  await server.start();
  return server;
}
