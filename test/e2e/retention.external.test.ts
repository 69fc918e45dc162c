/**
 * Per-pattern retention end to end, under CPU contention: carillon started with carbon's storage-schemas.conf
 * (two sections of other archives than `times`) creates each new series' whisper file with its section's archives
 * (Graphite's `whisper-info` says so), the render API reads every series at its own resolutions — the finest of
 * its archives that reaches back to `from`, as whisper's fetch does — and every window equals the average of the
 * points sent into it; Graphite's `whisper-fetch` reads the same values from each archive after the shutdown flush.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { whisperRelativePath } from '@carillon/writers';
import { startBusyLoops, type Contention } from '../support/contention.js';
import { freePort } from '../support/ports.js';
import { useTempDir } from '../support/temp-dir.js';
import { getJson, runProgram, sendTcp, startProgram } from './programs.js';

const PROGRAM = 'services/allinone/dist/main.js';
const TIMES = 'times=10s:1h,1m:1d,10m:7d';

const SCHEMAS = `[short]
pattern = ^short\\.
retentions = 10s:30m,10m:7d

[long]
pattern = ^long\\.
retentions = 60:2880
`;

/** The archives (secondsPerPoint, points) each series' file must have: its section's, or `times`. */
const SERIES: Record<string, [number, number][]> = {
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

function tool(name: string, args: string[]): string {
  const path = `/usr/bin/${name}`;
  if (!existsSync(path))
    throw new Error(`${name} (Graphite's whisper tools) is needed: apt-get install -y python3-whisper`);
  return execFileSync(path, args, { encoding: 'utf8' });
}

type Points = [number, number][];

/** The oracle: the average of the values sent into each window of `step`, by window start. */
function averages(sent: Points, step: number): Points {
  const windows = new Map<number, number[]>();
  for (const [t, v] of sent) {
    const start = Math.floor(t / step) * step;
    windows.set(start, [...(windows.get(start) ?? []), v]);
  }
  return [...windows]
    .sort(([a], [b]) => a - b)
    .map(([start, values]) => [start, values.reduce((a, b) => a + b, 0) / values.length]);
}

type Rendered = { target: string; datapoints: [number | null, number][] }[];

describe('per-pattern retention from storage-schemas.conf', () => {
  const dir = useTempDir('retention');
  let contention: Contention | undefined;
  afterEach(() => contention?.stop());

  it('refuses at start a section whose step is no step of times, naming the key', async () => {
    const conf = join(dir(), 'bad-schemas.conf');
    writeFileSync(conf, '[odd]\npattern = ^odd\\.\nretentions = 30s:1d\n');
    const { code, output } = await runProgram(PROGRAM, [
      '--set',
      `whisper.data_dir=${join(dir(), 'bad')}`,
      '--set',
      `carbon.storage_schemas=${conf}`,
      '--set',
      TIMES,
    ]);
    expect(code).not.toBe(0);
    expect(output).toContain('carbon.storage_schemas');
    expect(output).toContain('30s is not one of the steps of times');
  });

  it("creates each file with its section's archives and reads every series at its own resolutions", async () => {
    const data = join(dir(), 'whisper');
    const conf = join(dir(), 'storage-schemas.conf');
    writeFileSync(conf, SCHEMAS);
    const [http, graphite] = [await freePort(), await freePort()];
    const set = (pairs: string[]): string[] => pairs.flatMap((pair) => ['--set', pair]);
    contention = startBusyLoops(2, 120_000);
    const carillon = await startProgram(
      PROGRAM,
      set([
        `whisper.data_dir=${data}`,
        `carbon.storage_schemas=${conf}`,
        `http.listen=127.0.0.1:${http}`,
        `graphite.tcp_listen=127.0.0.1:${graphite}`,
        'graphite.udp_listen=',
        'statsd.tcp_listen=',
        'statsd.udp_listen=',
        'pickle.tcp_listen=',
        TIMES,
      ]),
      'carillon started',
      40_000,
    );
    const sent: Record<string, Points> = {};
    let last = 0;
    try {
      // Stamped a little ahead of the clock (within aggregator.max_future), so every point lands in an open window.
      const first = Math.ceil((Date.now() / 1000 + 5) / 10) * 10;
      const lines: string[] = [];
      for (const [k, name] of Object.keys(SERIES).entries()) {
        sent[name] = [];
        for (let i = 0; i < 5; i++) {
          const [t, v] = [first + i * 10 + (i % 3), (k + 1) * 100 + i * 7 + 0.5];
          sent[name].push([t, v]);
          lines.push(`${name} ${v} ${t}`);
        }
      }
      last = Math.max(...Object.values(sent).flatMap((points) => points.map(([t]) => t)));
      await sendTcp(graphite, lines.join('\n') + '\n');
      // A render shows windows up to now only: wait until the last point is in the past.
      while (Date.now() / 1000 < last + 1) await new Promise((resolve) => setTimeout(resolve, 500));

      const render = async (from: number): Promise<Record<string, { step: number; points: Points }>> => {
        const targets = Object.keys(SERIES)
          .map(
            (name) => `target=${encodeURIComponent(name.includes(';') ? `seriesByTag('name=short.web1.disk')` : name)}`,
          )
          .join('&');
        const now = Math.floor(Date.now() / 1000);
        const answer = await getJson<Rendered>(
          `http://127.0.0.1:${http}/render?format=json&${targets}&from=${now - from}&until=${now}`,
        );
        return Object.fromEntries(
          answer.map((s) => {
            const times = s.datapoints.map(([, t]) => t);
            const points = s.datapoints.flatMap(([v, t]) => (v === null ? [] : [[t, v] as [number, number]]));
            return [s.target, { step: (times[1] ?? times[0]! + 1) - times[0]!, points }];
          }),
        );
      };
      const expected = (steps: Record<string, number>) =>
        Object.fromEntries(
          Object.entries(steps).map(([name, step]) => [name, { step, points: averages(sent[name]!, step) }]),
        );

      // 20 minutes back: 10 s where a series keeps 10 s that long, else its finest archive.
      expect(await render(20 * 60)).toEqual(
        expected({ 'short.web1.cpu': 10, 'short.web1.disk;dc=a': 10, 'long.web1.cpu': 60, 'other.web1.cpu': 10 }),
      );
      // Two hours back: beyond short's 30 min of 10 s (no 1 m archive: 10 m) and other's 1 h (1 m).
      expect(await render(2 * 3600)).toEqual(
        expected({ 'short.web1.cpu': 600, 'short.web1.disk;dc=a': 600, 'long.web1.cpu': 60, 'other.web1.cpu': 60 }),
      );
    } finally {
      expect(await carillon.stop()).toBe(0);
      contention.stop();
    }

    // After the shutdown flush Graphite's own tools read each file: the section's archives, every window exact.
    for (const [name, archives] of Object.entries(SERIES)) {
      const file = join(data, whisperRelativePath(name)!);
      const info = JSON.parse(tool('whisper-info', ['--json', file])) as {
        archives: { secondsPerPoint: number; points: number }[];
      };
      expect([name, info.archives.map((a) => [a.secondsPerPoint, a.points])]).toEqual([name, archives]);
      for (const [step, points] of archives) {
        // whisper-fetch reads the finest archive reaching back to --from: ask each archive by its retention.
        const from = Math.floor(Date.now() / 1000) - step * points + step;
        const fetched = JSON.parse(
          tool('whisper-fetch', ['--json', `--from=${from}`, `--until=${last + step}`, file]),
        ) as { start: number; step: number; values: (number | null)[] };
        expect(fetched.step).toBe(step);
        const known = fetched.values.flatMap((v, i) =>
          v === null ? [] : [[fetched.start + i * fetched.step, v] as [number, number]],
        );
        expect([name, step, known]).toEqual([name, step, averages(sent[name]!, step)]);
      }
    }
  }, 120_000);
});
