/**
 * What the per-pattern retention tests share (whisper and Cassandra): carbon's storage-schemas.conf with two
 * sections of other archives than `times`, the series they cover, the points sent, the render of every series at
 * its own resolutions, and the oracle (the average of the points in each window).
 */
import { getJson, sendTcp } from '../e2e/programs.js';

export const RETENTION_TIMES = 'times=10s:1h,1m:1d,10m:7d';

export const RETENTION_SCHEMAS = `[short]
pattern = ^short\\.
retentions = 10s:30m,10m:7d

[long]
pattern = ^long\\.
retentions = 60:2880
`;

/** The archives (step, points) each series keeps: its section's, or `times`. */
export const RETENTION_SERIES: Record<string, [number, number][]> = {
  'short.web1.cpu': [
    [10, 180],
    [600, 1008],
  ],
  'short.web1.disk;dc=a': [
    [10, 180],
    [600, 1008],
  ],
  'long.web1.cpu': [[60, 2880]],
  'other.web1.cpu': [
    [10, 360],
    [60, 1440],
    [600, 1008],
  ],
};

export type Points = [number, number][];

/** The oracle: the average of the values sent into each window of `step`, by window start. */
export function averages(sent: Points, step: number): Points {
  const windows = new Map<number, number[]>();
  for (const [t, v] of sent) {
    const start = Math.floor(t / step) * step;
    windows.set(start, [...(windows.get(start) ?? []), v]);
  }
  return [...windows]
    .sort(([a], [b]) => a - b)
    .map(([start, values]) => [start, values.reduce((a, b) => a + b, 0) / values.length]);
}

/**
 * Sends five points of every series, stamped a little ahead of the clock (within aggregator.max_future) so each
 * lands in an open window, and waits until the last is in the past (a render shows windows up to now only).
 */
export async function sendRetentionTraffic(
  graphitePort: number,
): Promise<{ sent: Record<string, Points>; last: number }> {
  const first = Math.ceil((Date.now() / 1000 + 5) / 10) * 10;
  const sent: Record<string, Points> = {};
  const lines: string[] = [];
  for (const [k, name] of Object.keys(RETENTION_SERIES).entries()) {
    sent[name] = [];
    for (let i = 0; i < 5; i++) {
      const [t, v] = [first + i * 10 + (i % 3), (k + 1) * 100 + i * 7 + 0.5];
      sent[name].push([t, v]);
      lines.push(`${name} ${v} ${t}`);
    }
  }
  const last = Math.max(...Object.values(sent).flatMap((points) => points.map(([t]) => t)));
  await sendTcp(graphitePort, lines.join('\n') + '\n');
  while (Date.now() / 1000 < last + 1) await new Promise((resolve) => setTimeout(resolve, 500));
  return { sent, last };
}

type Rendered = { target: string; datapoints: [number | null, number][] }[];
export type RenderedSteps = Record<string, { step: number; points: Points }>;

/** Every series rendered from `from` seconds ago: its step and its known points, by target. */
export async function renderRetentionSeries(httpPort: number, from: number): Promise<RenderedSteps> {
  const targets = Object.keys(RETENTION_SERIES)
    .map((name) => `target=${encodeURIComponent(name.includes(';') ? `seriesByTag('name=short.web1.disk')` : name)}`)
    .join('&');
  const now = Math.floor(Date.now() / 1000);
  const answer = await getJson<Rendered>(
    `http://127.0.0.1:${httpPort}/render?format=json&${targets}&from=${now - from}&until=${now}`,
  );
  return Object.fromEntries(
    answer.map((s) => {
      const times = s.datapoints.map(([, t]) => t);
      const points = s.datapoints.flatMap(([v, t]) => (v === null ? [] : [[t, v] as [number, number]]));
      return [s.target, { step: (times[1] ?? times[0]! + 1) - times[0]!, points }];
    }),
  );
}

/** What the render must give: each series at `steps[name]`, the oracle's averages. */
export function expectedRender(sent: Record<string, Points>, steps: Record<string, number>): RenderedSteps {
  return Object.fromEntries(
    Object.entries(steps).map(([name, step]) => [name, { step, points: averages(sent[name]!, step) }]),
  );
}

/** 20 minutes back: 10 s where a series keeps 10 s that long, else its finest archive. */
export const STEPS_20_MINUTES_BACK = {
  'short.web1.cpu': 10,
  'short.web1.disk;dc=a': 10,
  'long.web1.cpu': 60,
  'other.web1.cpu': 10,
};

/** Two hours back: beyond short's 30 min of 10 s (no 1 m archive: 10 m) and other's 1 h (1 m). */
export const STEPS_2_HOURS_BACK = {
  'short.web1.cpu': 600,
  'short.web1.disk;dc=a': 600,
  'long.web1.cpu': 60,
  'other.web1.cpu': 60,
};
