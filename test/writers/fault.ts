/**
 * The fault frame of the connection-based writers: carillon with a writer to a server the test owns and a healthy
 * writer beside it, steady Graphite traffic, the owned server stopped for 60 s and started again. Every (series,
 * resolution, window) the traffic made is the oracle: afterwards both servers must hold each exactly, the outage
 * must show in the faulty writer's counters and nowhere in the healthy one's (its queue stays short and it keeps
 * delivering at the traffic's pace through the outage). All of it under CPU contention.
 */
import { createConnection, type Socket } from 'node:net';
import { expect } from 'vitest';
import type { StatPoint } from '@carillon/core';
import type { OwnServer } from '../harness/own-servers.js';
import { startBusyLoops } from '../support/contention.js';
import { pointOfSamples } from '../support/stat-points.js';
import { sleep } from '../support/wait.js';
import { metricValue, STEPS, type Carillon } from './carillon.js';

export interface Window {
  name: string;
  step: number;
  point: StatPoint;
}

export interface FaultRun {
  windows: Window[];
  faultyErrors: number;
  faultyDropped: number;
  healthyDropped: number;
  /** The healthy writer's largest queue seen during the outage, and what it wrote during it. */
  healthyMaxQueue: number;
  healthyWrittenDuringOutage: number;
  /** Points the traffic made during the outage that the healthy writer could have written (closed windows). */
  pointsDuringOutage: number;
}

interface Options {
  carillon: Carillon;
  server: OwnServer;
  prefix: string;
  faulty: string;
  healthy: string;
  series?: number;
  outageMs?: number;
}

/** Steady traffic: every 250 ms one point per series, valued by a counter, at the current second. */
export async function runFault(options: Options): Promise<FaultRun> {
  const series = options.series ?? 20;
  const outageMs = options.outageMs ?? 60_000;
  const samples = new Map<string, number[]>();
  // The run must hold under CPU contention too: two busy loops (one per core) for its whole length, bounded.
  const contention = startBusyLoops(2, 180_000);
  try {
    return await faultRun(options, series, outageMs, samples);
  } finally {
    contention.stop();
  }
}

async function faultRun(
  options: Options,
  series: number,
  outageMs: number,
  samples: Map<string, number[]>,
): Promise<FaultRun> {
  const { carillon, server, prefix, faulty, healthy } = options;
  const socket: Socket = await new Promise((resolve, reject) => {
    const s = createConnection({ host: '127.0.0.1', port: carillon.ports.graphite }, () => resolve(s));
    s.once('error', reject);
  });
  let value = 0;
  let sending = true;
  const sender = (async () => {
    // Bounded: at most 10 minutes of sends whatever happens.
    const until = Date.now() + 600_000;
    while (sending && Date.now() < until) {
      const time = Math.floor(Date.now() / 1000);
      let text = '';
      for (let j = 0; j < series; j++) {
        const name = `${prefix}.s${j}`;
        value += 1;
        text += `${name} ${value} ${time}\n`;
        for (const step of STEPS) {
          const key = `${name}\u0000${step}\u0000${time - (time % step)}`;
          const list = samples.get(key);
          if (list) list.push(value);
          else samples.set(key, [value]);
        }
      }
      socket.write(text);
      await sleep(250);
    }
  })();
  const metrics = async (): Promise<string> => carillon.metrics();
  const written = (text: string, writer: string): number =>
    metricValue(text, 'carillon_writer_points_written_total', `{writer="${writer}"}`);

  await sleep(6_000);
  await server.stop();
  const outageStart = Date.now();
  const before = written(await metrics(), healthy);
  let healthyMaxQueue = 0;
  while (Date.now() - outageStart < outageMs) {
    await sleep(2_000);
    const text = await metrics();
    healthyMaxQueue = Math.max(
      healthyMaxQueue,
      metricValue(text, 'carillon_writer_queue_points', `{writer="${healthy}"}`),
    );
  }
  const healthyWrittenDuringOutage = written(await metrics(), healthy) - before;
  await server.launch();
  await sleep(4_000);
  sending = false;
  await sender;
  socket.end();
  // The last 10 s window closes 11 s after its start; then the faulty writer catches up.
  await sleep(13_000);
  const text = await metrics();
  const windows: Window[] = [...samples].map(([key, values]) => {
    const [name, step, time] = key.split('\u0000') as [string, string, string];
    return { name, step: Number(step), point: pointOfSamples(Number(time), values) };
  });
  // One point per series and window at each resolution, for the windows that closed in the outage.
  const windowsPerSecond = STEPS.reduce((n, step) => n + 1 / step, 0);
  return {
    windows,
    faultyErrors: metricValue(text, 'carillon_writer_errors_total', `{writer="${faulty}",kind="connect"}`),
    faultyDropped: droppedTotal(text, faulty),
    healthyDropped: droppedTotal(text, healthy),
    healthyMaxQueue,
    healthyWrittenDuringOutage,
    pointsDuringOutage: Math.floor((outageMs / 1000) * windowsPerSecond * series),
  };
}

function droppedTotal(text: string, writer: string): number {
  return text
    .split('\n')
    .filter((line) => line.startsWith(`carillon_writer_dropped_points_total{writer="${writer}",`))
    .reduce((n, line) => n + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}

/** The checks every fault test makes beyond reading the servers back. */
export function expectFaultCounted(run: FaultRun): void {
  expect(run.faultyErrors, 'the outage shows in the faulty writer').toBeGreaterThan(0);
  expect(run.faultyDropped, 'nothing dropped within the bounds').toBe(0);
  expect(run.healthyDropped).toBe(0);
  // The healthy writer kept its pace: its queue stayed short, and it wrote (within 10 %) what closed meanwhile.
  expect(run.healthyMaxQueue).toBeLessThan(500);
  expect(run.healthyWrittenDuringOutage).toBeGreaterThanOrEqual(run.pointsDuringOutage * 0.9);
}

/** Asks `problems` until it finds none or `timeoutMs` passed; the last answer. */
export async function eventually(problems: () => Promise<string[]>, timeoutMs = 40_000): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  let found = await problems();
  while (found.length > 0 && Date.now() < deadline) {
    await sleep(1_000);
    found = await problems();
  }
  return found;
}
