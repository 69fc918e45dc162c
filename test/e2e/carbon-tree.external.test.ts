/**
 * A carbon data directory, made with Graphite's own `whisper-create` and `whisper-update` (two archive schemas, a
 * sum series, a tagged series in carbon's default hash-named file), and carbon's storage-aggregation.conf and
 * storage-schemas.conf: carillon starts on it as it is, serves the old points, takes new ones into the same files
 * (the lower archive fed), creates a new series with the method and archives the confs give, and Graphite's
 * `whisper-fetch` reads it all after.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort } from '../support/ports.js';
import { useTempDir } from '../support/temp-dir.js';
import { getJson, sendTcp, startProgram } from './programs.js';

const PROGRAM = 'services/allinone/dist/main.js';
const MINUTE = 60;

function tool(name: string, args: string[]): string {
  const path = `/usr/bin/${name}`;
  if (!existsSync(path))
    throw new Error(`${name} (Graphite's whisper tools) is needed: apt-get install -y python3-whisper`);
  return execFileSync(path, args, { encoding: 'utf8' });
}

/** carbon's TaggedSeries.encode with TAG_HASH_FILENAMES = True (its default). */
function hashNamed(name: string): string {
  const hash = createHash('sha256').update(name).digest('hex');
  return join('_tagged', hash.slice(0, 3), hash.slice(3, 6), `${hash}.wsp`);
}

interface Fetched {
  start: number;
  step: number;
  values: (number | null)[];
}

/** The known points of `whisper-fetch --json` as [time, value]. */
function fetchPoints(path: string, from: number, until: number): [number, number][] {
  const fetched = JSON.parse(tool('whisper-fetch', ['--json', `--from=${from}`, `--until=${until}`, path])) as Fetched;
  return fetched.values.flatMap((v, i) =>
    v === null ? [] : [[fetched.start + i * fetched.step, v] as [number, number]],
  );
}

type Rendered = { target: string; datapoints: [number | null, number][] }[];
const known = (render: Rendered): Record<string, [number, number][]> =>
  Object.fromEntries(
    render.map((s) => [s.target, s.datapoints.flatMap(([v, t]) => (v === null ? [] : [[t, v] as [number, number]]))]),
  );

describe('carillon on a carbon data directory', () => {
  const dir = useTempDir('carbon-tree');

  it('serves, extends and creates files as carbon would, readable by whisper-fetch', async () => {
    const data = join(dir(), 'whisper');
    const file = (relative: string): string => join(data, relative);
    const now = Math.floor(Date.now() / 1000);
    const old = Math.floor((now - 2 * 3600) / MINUTE) * MINUTE;
    const series = [
      { name: 'old.web1.cpu', path: 'old/web1/cpu.wsp', schema: ['60s:1d', '1h:30d'], method: 'average' },
      {
        name: 'old.web1.requests.count',
        path: 'old/web1/requests/count.wsp',
        schema: ['60s:12h', '1h:7d'],
        method: 'sum',
      },
      { name: 'disk.used;host=a', path: hashNamed('disk.used;host=a'), schema: ['60s:1d', '1h:30d'], method: 'max' },
    ];
    for (const [k, s] of series.entries()) {
      mkdirSync(join(file(s.path), '..'), { recursive: true });
      tool('whisper-create', [file(s.path), ...s.schema, `--aggregationMethod=${s.method}`, '--xFilesFactor=0']);
      tool('whisper-update', [file(s.path), `${old}:${k + 1.5}`, `${old + MINUTE}:${k - 2}`]);
    }
    const conf = join(dir(), 'storage-aggregation.conf');
    writeFileSync(conf, '[count]\npattern = \\.count$\nxFilesFactor = 0\naggregationMethod = sum\n');
    // Existing files keep their archives; a new series gets its section's.
    const schemas = join(dir(), 'storage-schemas.conf');
    writeFileSync(
      schemas,
      '[requests]\npattern = \\.requests\\.\nretentions = 60s:12h,1h:7d\n[default]\npattern = .*\nretentions = 60:1440,1h:30d\n',
    );

    const [http, graphite] = [await freePort(), await freePort()];
    const set = (pairs: string[]): string[] => pairs.flatMap((pair) => ['--set', pair]);
    const carillon = await startProgram(
      PROGRAM,
      set([
        `whisper.data_dir=${data}`,
        `carbon.storage_aggregation=${conf}`,
        `carbon.storage_schemas=${schemas}`,
        `http.listen=127.0.0.1:${http}`,
        `graphite.tcp_listen=127.0.0.1:${graphite}`,
        'graphite.udp_listen=',
        'statsd.tcp_listen=',
        'statsd.udp_listen=',
        'pickle.tcp_listen=',
        'times=1m:1d,1h:30d',
      ]),
      'carillon started',
    );
    const fresh = Math.floor(now / MINUTE) * MINUTE;
    try {
      await sendTcp(
        graphite,
        [
          `old.web1.cpu 10 ${fresh}`,
          `old.web1.requests.count 3 ${fresh}`,
          `old.web1.requests.count 4 ${fresh}`,
          `disk.used;host=a 7 ${fresh}`,
          `new.web1.requests.count 5 ${fresh}`,
        ].join('\n') + '\n',
      );
      const render = async (target: string): Promise<Record<string, [number, number][]>> =>
        known(
          await getJson<Rendered>(
            `http://127.0.0.1:${http}/render?format=json&target=${encodeURIComponent(target)}&from=${old - 1}&until=${fresh + MINUTE - 1}`,
          ),
        );
      // Old points from carbon's files, new ones from the open window, one answer.
      expect(await render('old.web1.*')).toEqual({
        'old.web1.cpu': [
          [old, 1.5],
          [old + MINUTE, -2],
          [fresh, 10],
        ],
      });
      expect(await render('old.web1.requests.count')).toEqual({
        'old.web1.requests.count': [
          [old, 2.5],
          [old + MINUTE, -1],
          [fresh, 7],
        ],
      });
      expect(await render("seriesByTag('name=disk.used')")).toEqual({
        'disk.used;host=a': [
          [old, 3.5],
          [old + MINUTE, 0],
          [fresh, 7],
        ],
      });
    } finally {
      expect(await carillon.stop()).toBe(0);
    }

    // After the shutdown flush, Graphite's own tools read every file.
    const until = fresh + MINUTE;
    expect(fetchPoints(file('old/web1/cpu.wsp'), old - 1, until)).toEqual([
      [old, 1.5],
      [old + MINUTE, -2],
      [fresh, 10],
    ]);
    const countFile = file('old/web1/requests/count.wsp');
    expect(fetchPoints(countFile, old - 1, until)).toEqual([
      [old, 2.5],
      [old + MINUTE, -1],
      [fresh, 7],
    ]);
    // The file's lower archive (1h, beyond the 12 h of its first) is fed, with the file's own method.
    const hour = Math.floor(fresh / 3600) * 3600;
    expect(fetchPoints(countFile, now - 3 * 86_400, until).filter(([t]) => t === hour)).toEqual([[hour, 7]]);
    // The tagged series stayed in carbon's hash-named file: no second, readably named file beside it.
    expect(fetchPoints(file(series[2]!.path), old - 1, until)).toEqual([
      [old, 3.5],
      [old + MINUTE, 0],
      [fresh, 7],
    ]);
    expect(tool('find', [data, '-name', '*disk.used*'])).toBe('');
    // A new series takes the method storage-aggregation.conf gives it.
    const created = file('new/web1/requests/count.wsp');
    const info = JSON.parse(tool('whisper-info', ['--json', created])) as {
      aggregationMethod: string;
      xFilesFactor: number;
      archives: { secondsPerPoint: number; points: number }[];
    };
    expect(info).toMatchObject({ aggregationMethod: 'sum', xFilesFactor: 0 });
    // ... and the archives storage-schemas.conf gives it.
    expect(info.archives.map((a) => [a.secondsPerPoint, a.points])).toEqual([
      [60, 720],
      [3600, 168],
    ]);
    expect(fetchPoints(created, old - 1, until)).toEqual([[fresh, 5]]);
  }, 60_000);
});
