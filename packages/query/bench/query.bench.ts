// Series index and render throughput against the built code: indexing names, finding globs, matching tags, and a
// render read through the Graphite API's evaluator over a MemoryStore.
import { makeBatch, parseResolutions, statPointOf } from '@carillon/core';
import {
  MemoryStore,
  parseTagQuery,
  parseTarget,
  RenderContext,
  SeriesIndex,
  evaluateTarget,
  indexFinder,
} from '@carillon/query';
import type { BenchRow } from '../../../bench/row.ts';

const HOSTS = 500;
const METRICS = [
  'cpu.user',
  'cpu.system',
  'cpu.idle',
  'mem.used',
  'mem.free',
  'disk.read',
  'disk.write',
  'net.rx',
  'net.tx',
  'load',
];

function names(): string[] {
  const result: string[] = [];
  for (let h = 0; h < HOSTS; h++) {
    for (const m of METRICS) {
      result.push(`servers.dc${h % 4}.web${h}.${m}`);
      result.push(`host.${m};dc=dc${h % 4};host=web${h}`);
    }
  }
  return result;
}

/** Seconds `fn` takes for `repeat` calls. */
function time(fn: (i: number) => unknown, repeat: number): number {
  const start = process.hrtime.bigint();
  for (let i = 0; i < repeat; i++) fn(i);
  return Number(process.hrtime.bigint() - start) / 1e9;
}

export default async function run(): Promise<BenchRow[]> {
  const all = names();
  const index = new SeriesIndex();
  const addNew = time((i) => index.add(all[i]!), all.length);
  const addKnown = time((i) => index.add(all[i % all.length]!), 1_000_000);
  const findGlob = time(() => index.find('servers.dc{1,2}.web*.cpu.*', 100_000), 200);
  const tagQuery = parseTagQuery(['name=host.cpu.user', 'dc=~dc[12]']);
  const findTagged = time(() => index.findTagged(tagQuery, 100_000), 200);

  const resolutions = parseResolutions(['10s:1h', '1m:1d']);
  const [finest] = resolutions;
  if (finest === undefined) throw new Error('no resolutions');
  const now = 1_700_000_400;
  const store = new MemoryStore({ now: () => now, maxPoints: 5_000_000 });
  const seriesNames = all.filter((n) => n.startsWith('servers.dc1.'));
  for (let t = now - 3600; t < now; t += 10) {
    await store.write(
      makeBatch(
        finest,
        t,
        seriesNames.map((n, i) => [n, statPointOf(t, i + t)]),
      ),
    );
  }
  const sources = { reader: store, pending: { pending: () => [] }, aggregationRules: [] };
  const target = parseTarget("consolidateBy(servers.dc1.*.cpu.*, 'max')");
  const renders = 20;
  const start = process.hrtime.bigint();
  for (let i = 0; i < renders; i++) {
    const context = new RenderContext(
      {
        finder: indexFinder(index),
        sources,
        resolutions,
        limits: { maxSeries: 100_000, maxBytes: 2 ** 30, fetchConcurrency: 32 },
      },
      now - 3600,
      now,
      now,
      0,
    );
    await evaluateTarget(target, context);
  }
  const render = Number(process.hrtime.bigint() - start) / 1e9 / renders;

  return [
    { name: 'SeriesIndex.add new names', value: all.length / addNew, unit: 'names/s', note: `${all.length} names` },
    { name: 'SeriesIndex.add known names', value: 1_000_000 / addKnown, unit: 'names/s' },
    {
      name: 'find servers.dc{1,2}.web*.cpu.*',
      value: (findGlob / 200) * 1e3,
      unit: 'ms/query',
      note: '750 of 5000 leaves',
    },
    {
      name: 'findTagged name=host.cpu.user dc=~dc[12]',
      value: (findTagged / 200) * 1e3,
      unit: 'ms/query',
      note: '250 of 5000 tagged',
    },
    { name: 'render 375 series x 360 windows from MemoryStore', value: render * 1e3, unit: 'ms/render' },
  ];
}
