/**
 * The end-to-end frame the catalogue writers' tests share: the built single-node program (memory store) with the
 * writers under test in a `[[writers]]` config, fed known Graphite (TCP) and StatsD (UDP) traffic whose every
 * StatPoint the test knows (the oracle), so a test reads the writer's server back and compares exactly.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StatPoint } from '@carillon/core';
import { freePort } from '../support/ports.js';
import { pointOfSamples } from '../support/stat-points.js';
import { sleep } from '../support/wait.js';
import { getText, sendTcp, sendUdp, startProgram, type RunningProgram } from '../e2e/programs.js';

export const STEPS = [2, 10] as const;

export interface Carillon {
  program: RunningProgram;
  ports: { http: number; graphite: number; statsd: number };
  dir: string;
  /** The program's own /metrics. */
  metrics(): Promise<string>;
  stop(): Promise<void>;
}

/** Starts carillon with `writersToml` (one or more `[[writers]]` tables) and 2 s / 10 s resolutions. */
export async function startCarillon(writersToml: string, extraArgs: string[] = []): Promise<Carillon> {
  const dir = await mkdtemp(join(tmpdir(), 'carillon-writers-'));
  const ports = { http: await freePort(), graphite: await freePort(), statsd: await freePort() };
  const config = join(dir, 'carillon.toml');
  await writeFile(
    config,
    [
      'store = "memory"',
      'times = ["2s:1h", "10s:1d"]',
      'log_level = "info"',
      '[aggregator]',
      'grace = "1s"',
      '[statsd.output]',
      // Idle counters would add zero windows after the one the traffic fell in.
      'deleteIdleStats = true',
      '',
      writersToml,
    ].join('\n'),
  );
  const program = await startProgram(
    'services/allinone/dist/main.js',
    [
      '--config',
      config,
      '--set',
      `http.listen=127.0.0.1:${ports.http}`,
      '--set',
      `graphite.tcp_listen=127.0.0.1:${ports.graphite}`,
      '--set',
      'graphite.udp_listen=',
      '--set',
      `statsd.udp_listen=127.0.0.1:${ports.statsd}`,
      '--set',
      'statsd.tcp_listen=',
      '--set',
      'pickle.tcp_listen=',
      ...extraArgs,
    ],
    'carillon started',
    60_000,
  );
  return {
    program,
    ports,
    dir,
    metrics: () => getText(`http://127.0.0.1:${ports.http}/metrics`),
    async stop() {
      await program.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** One expected stored StatPoint. */
export interface Expected {
  name: string;
  step: number;
  point: StatPoint;
}

export interface Traffic {
  /** Every Graphite StatPoint, at both resolutions. */
  graphite: Expected[];
  /** StatsD output names and what one interval holds: the counter's count, the gauge's value. */
  statsd: { counter: string; counterValue: number; gauge: string; gaugeValue: number };
  /** When every window of this traffic has closed and been flushed (epoch ms). */
  settledAtMs: number;
}

/**
 * Sends known traffic under `prefix` (unique per test): Graphite points in the 10 s window starting at the next
 * aligned time at least 3 s ahead (so it is open when they arrive), and one StatsD datagram.
 */
export async function sendKnownTraffic(carillon: Carillon, prefix: string): Promise<Traffic> {
  const base = Math.ceil((Date.now() / 1000 + 3) / 10) * 10;
  const samples: [string, number, number][] = [
    [`${prefix}.latency`, 1, base],
    [`${prefix}.latency`, 5, base + 1],
    [`${prefix}.latency`, 0.1, base + 2],
    [`${prefix}.latency`, 9, base + 7],
    [`${prefix}.requests`, 3, base],
    [`${prefix}.requests`, 4, base + 9],
    [`${prefix}.tagged;dc=eu;host=a`, -2.5, base + 4],
    [`${prefix}.tagged;dc=eu;host=a`, 1e6, base + 5],
  ];
  await sendTcp(carillon.ports.graphite, samples.map(([name, value, time]) => `${name} ${value} ${time}\n`).join(''));
  const graphite: Expected[] = [];
  for (const step of STEPS) {
    const windows = new Map<string, number[]>();
    for (const [name, value, time] of samples) {
      const key = `${name}\u0000${time - (time % step)}`;
      windows.set(key, [...(windows.get(key) ?? []), value]);
    }
    for (const [key, values] of windows) {
      const [name, time] = key.split('\u0000') as [string, string];
      graphite.push({ name, step, point: pointOfSamples(Number(time), values) });
    }
  }
  const statsdName = prefix;
  await sendUdp(carillon.ports.statsd, [`${statsdName}.hits:3|c\n${statsdName}.hits:4|c\n${statsdName}.temp:21.5|g`]);
  const statsd = {
    counter: `stats_counts.${statsdName}.hits`,
    counterValue: 7,
    gauge: `stats.gauges.${statsdName}.temp`,
    gaugeValue: 21.5,
  };
  // The 10 s window closes at base + 10 + grace; the flush follows at once.
  return { graphite, statsd, settledAtMs: (base + 10 + 1) * 1000 + 1_500 };
}

export async function untilSettled(traffic: Traffic): Promise<void> {
  const wait = traffic.settledAtMs - Date.now();
  if (wait > 0) await sleep(wait);
}

/** A counter or gauge of the program's /metrics text, by name and exact label text (`{writer="redis"}`). */
export function metricValue(text: string, name: string, labels = ''): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}
