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
import { runProgram, startProgram } from './programs.js';
import {
  averages,
  expectedRender,
  renderRetentionSeries,
  RETENTION_SCHEMAS,
  RETENTION_SERIES,
  RETENTION_TIMES,
  sendRetentionTraffic,
  STEPS_20_MINUTES_BACK,
  STEPS_2_HOURS_BACK,
  type Points,
} from '../support/retention-traffic.js';

const PROGRAM = 'services/allinone/dist/main.js';
const TIMES = RETENTION_TIMES;
const SERIES = RETENTION_SERIES;

function tool(name: string, args: string[]): string {
  const path = `/usr/bin/${name}`;
  if (!existsSync(path))
    throw new Error(`${name} (Graphite's whisper tools) is needed: apt-get install -y python3-whisper`);
  return execFileSync(path, args, { encoding: 'utf8' });
}

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
    writeFileSync(conf, RETENTION_SCHEMAS);
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
    let sent: Record<string, Points> = {};
    let last = 0;
    try {
      ({ sent, last } = await sendRetentionTraffic(graphite));
      expect(await renderRetentionSeries(http, 20 * 60)).toEqual(expectedRender(sent, STEPS_20_MINUTES_BACK));
      expect(await renderRetentionSeries(http, 2 * 3600)).toEqual(expectedRender(sent, STEPS_2_HOURS_BACK));
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
