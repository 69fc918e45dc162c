/**
 * The log, file and archive writers end to end, all three at once in one program: known Graphite and StatsD
 * traffic under CPU contention, SIGTERM, then the files read back (the archive through the standard `zstd -d` CLI) hold every window
 * exactly; the files have the modes asked for.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readTsv } from './file-read.js';
import {
  checkCounters,
  checkRecords,
  runScenario,
  STEPS,
  type ReadRecord,
  type ScenarioRun,
  STATSD_STATPOINTS,
} from './scenario.js';

function zstdAvailable(): void {
  try {
    execFileSync('zstd', ['--version']);
  } catch {
    throw new Error('the zstd CLI is needed to read archives back: apt-get install -y zstd');
  }
}

describe('log, file and archive writers', () => {
  const dir = mkdtempSync(join(tmpdir(), 'carillon-local-writers-'));
  let run: ScenarioRun;

  beforeAll(async () => {
    zstdAvailable();
    run = await runScenario({
      bulk: 200,
      settle: true,
      writersToml: [
        '[[writers]]',
        'type = "log"',
        `path = "${dir}/log/points.log"`,
        '[[writers]]',
        'type = "file"',
        `base = "${dir}/tsv/stats"`,
        'max_file_size = 4096',
        '[[writers]]',
        'type = "archive"',
        `dir = "${dir}/archive"`,
        'file_mode = 0o440',
        'dir_mode = 0o750',
        'flush_interval = "2s"',
      ].join('\n'),
    });
  }, 60_000);

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('exits cleanly with every writer flushed', () => {
    expect(run.exitCode, run.output).toBe(0);
    expect(run.output).not.toContain('spilled');
    for (const writer of ['log', 'file', 'archive'])
      checkCounters(run.metricsBeforeStop, writer, run.expected.length + STATSD_STATPOINTS);
  });

  it('log: one line per StatPoint', () => {
    const records: ReadRecord[] = readFileSync(join(dir, 'log', 'points.log'), 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map((line) => {
        const [name, step, time, ...fields] = line.split(' ');
        const f = Object.fromEntries(fields.map((kv) => kv.split('=')).map(([k, v]) => [k, Number(v)]));
        return { name: name!, step: parseInt(step!, 10), time: Number(time), ...f } as ReadRecord;
      });
    checkRecords(records, run);
  });

  it('file: tab-separated per resolution, rotated at max_file_size', () => {
    const files = readdirSync(join(dir, 'tsv'));
    for (const step of STEPS) expect(files).toContain(`stats_${step}s`);
    // 200+ series at ~70 bytes a line over 4 KiB: rotated files, never over the limit
    expect(files.filter((f) => /^stats_2s\.\d{8}T\d{6}\.\d{3}Z(-\d+)?$/.test(f)).length).toBeGreaterThan(1);
    for (const file of files.filter((f) => f.includes('.')))
      expect(statSync(join(dir, 'tsv', file)).size).toBeLessThanOrEqual(4096);
    checkRecords(readTsv(join(dir, 'tsv')), run);
  });

  it('archive: zstd JSON lines in exclusive files with the modes asked for, read by the zstd CLI', () => {
    const archive = join(dir, 'archive');
    expect(statSync(archive).mode & 0o777).toBe(0o750);
    const files = readdirSync(archive);
    expect(files.length).toBeGreaterThan(0);
    const records: ReadRecord[] = [];
    for (const file of files) {
      expect(file).toMatch(/^carillon-\d{8}T\d{6}\.\d{3}Z(-\d+)?\.jsonl\.zst$/);
      expect(statSync(join(archive, file)).mode & 0o777).toBe(0o440);
      const text = execFileSync('zstd', ['-d', '-c', '-q', join(archive, file)], { encoding: 'utf8' });
      for (const line of text.split('\n'))
        if (line !== '') {
          const r = JSON.parse(line) as ReadRecord & { resolution: number };
          records.push({ ...r, step: r.resolution });
        }
    }
    checkRecords(records, run);
  });
});
