/**
 * carillon's all-in-one for the differential test: StatsD on UDP, a memory store, one resolution whose step is
 * the reference's flush interval, and its output read back per window through the Graphite API.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { getJson, getText, startProgram, type RenderedSeries, type RunningProgram } from '../e2e/programs.js';
import { REFERENCE_UDP_RECEIVE_BUFFER_BYTES } from './reference-daemon.js';

export const ALLINONE = 'services/allinone/dist/main.js';

/** TOML for one value of a `[statsd.output]` option. */
function toml(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return `[${value.map(toml).join(', ')}]`;
  if (typeof value === 'object' && value !== null)
    return `{ ${Object.entries(value)
      .map(([k, v]) => `${k} = ${toml(v)}`)
      .join(', ')} }`;
  throw new Error(`no TOML for ${String(value)}`);
}

export interface Carillon {
  program: RunningProgram;
  httpPort: number;
  udpPort: number;
}

export async function startCarillon(
  dir: string,
  output: Record<string, unknown>,
  stepSeconds: number,
  httpPort: number,
  udpPort: number,
): Promise<Carillon> {
  const configFile = join(dir, 'carillon.toml');
  const lines = [
    `times = ["${stepSeconds}s:1h"]`,
    'store = "memory"',
    'log_level = "info"',
    '[aggregator]',
    'grace = "1s"',
    '[http]',
    `listen = "127.0.0.1:${httpPort}"`,
    '[graphite]',
    'tcp_listen = ""',
    'udp_listen = ""',
    '[pickle]',
    'tcp_listen = ""',
    '[statsd]',
    'tcp_listen = ""',
    `udp_listen = "127.0.0.1:${udpPort}"`,
    `udp_receive_buffer_bytes = ${REFERENCE_UDP_RECEIVE_BUFFER_BYTES}`,
    '[statsd.output]',
    ...Object.entries(output).map(([key, value]) => `${key} = ${toml(value)}`),
  ];
  writeFileSync(configFile, `${lines.join('\n')}\n`);
  const program = await startProgram(ALLINONE, ['--config', configFile], 'carillon started');
  return { program, httpPort, udpPort };
}

/** `carillon_lines_accepted_total{protocol="statsd"}` from /metrics. */
export async function statsdLinesAccepted(httpPort: number): Promise<number> {
  const text = await getText(`http://127.0.0.1:${httpPort}/metrics`);
  const match = /^carillon_lines_accepted_total\{protocol="statsd"\} (\d+)/m.exec(text);
  return match ? Number(match[1]) : 0;
}

/** Series per render request: below the API's 10,000 series and 100 targets per request. */
const SERIES_PER_REQUEST = 8000;
const TARGETS_PER_REQUEST = 100;

/**
 * Every stored series' values by window start, for windows in [from, until): the names from
 * /metrics/index.json, read with /render, untagged ones by `parent.*` globs, tagged ones by full name.
 */
export async function readWindows(
  httpPort: number,
  from: number,
  until: number,
): Promise<Map<number, Map<string, number>>> {
  const base = `http://127.0.0.1:${httpPort}`;
  const names = await getJson<string[]>(`${base}/metrics/index.json`);
  const globs = new Map<string, number>();
  const tagged: string[] = [];
  for (const name of names) {
    if (name.includes(';')) tagged.push(name);
    else {
      const glob = `${name.slice(0, name.lastIndexOf('.') + 1)}*`;
      globs.set(glob, (globs.get(glob) ?? 0) + 1);
    }
  }
  const requests: string[][] = [];
  let batch: string[] = [];
  let batchSeries = 0;
  const push = (target: string, series: number): void => {
    if (batch.length === TARGETS_PER_REQUEST || (batch.length > 0 && batchSeries + series > SERIES_PER_REQUEST)) {
      requests.push(batch);
      batch = [];
      batchSeries = 0;
    }
    batch.push(target);
    batchSeries += series;
  };
  for (const [glob, count] of globs) push(glob, count);
  for (const name of tagged) push(name, 1);
  if (batch.length > 0) requests.push(batch);

  const windows = new Map<number, Map<string, number>>();
  for (const targets of requests) {
    const query = targets.map((t) => `target=${encodeURIComponent(t)}`).join('&');
    // graphite-web's windows are those after the one holding `from` through the one holding `until`: this asks
    // for the windows starting in [from, until)
    const series = await getJson<RenderedSeries[]>(
      `${base}/render?format=json&from=${from - 1}&until=${until - 1}&${query}`,
    );
    for (const { target, datapoints } of series)
      for (const [value, time] of datapoints) {
        if (value === null || time < from || time >= until) continue;
        let values = windows.get(time);
        if (values === undefined) windows.set(time, (values = new Map()));
        values.set(target, value);
      }
  }
  return windows;
}
