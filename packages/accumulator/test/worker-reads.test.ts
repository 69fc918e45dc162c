/**
 * Render workers that read the whisper files themselves answer byte for byte what a render reading on the ingest
 * thread answers, with the windows only the ingest thread holds merged in: the aggregator's open windows and the
 * sink's windows handed to the store and not written yet. Every value is checked against an oracle of the samples
 * sent. Real aggregator, writer sink, whisper store and render workers.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_AGGREGATION_RULES, MetricsRegistry, parseResolutions, type PendingSource } from '@carillon/core';
import { Aggregator, DEFAULT_STATSD_OPTIONS } from '@carillon/aggregator';
import { createGraphiteApi, indexFinder, SeriesIndex, type GraphiteApi } from '@carillon/query';
import { WhisperStore } from '@carillon/writers';
import { queryHandler, WriterSink } from '@carillon/accumulator';
import { useTempDir } from '../../../test/support/temp-dir.js';

const dataDir = useTempDir('worker-reads');
const RENDER = { workers: 2, timeBudgetMs: 30_000, memoryBudgetBytes: 256 << 20, maxQueued: 16 };

async function serve(api: GraphiteApi): Promise<{ get(path: string): Promise<string>; server: Server }> {
  const server = createServer((req, res) => {
    void api(req, res).then((handled) => {
      if (!handled) res.writeHead(404).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    server,
    async get(path) {
      const response = await fetch(base + path, { signal: AbortSignal.timeout(20_000) });
      return `${response.status} ${Buffer.from(await response.arrayBuffer()).toString('base64')}`;
    },
  };
}

describe('render workers reading the whisper files', () => {
  const closers: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const close of closers.reverse()) await close();
  });

  it('answer what the ingest thread answers, pending and held windows included', async () => {
    const registry = new MetricsRegistry();
    const resolutions = parseResolutions(['10s:1h', '1m:1d']);
    let nowMs = Math.floor(Date.now() / 60_000) * 60_000 - 120_000;
    const now = (): number => Math.floor(nowMs / 1000);
    const store = new WhisperStore({ dataDir: dataDir(), resolutions }, { metrics: registry, clock: now });
    const sink = new WriterSink(
      [store],
      { maxInFlightPoints: 1_000_000, maxRetryPoints: 1_000_000, retryIntervalMs: 50 },
      registry,
    );
    const aggregator = new Aggregator(
      {
        resolutions,
        graceSeconds: 1,
        maxFutureSeconds: 60,
        maxPendingPoints: 1_000_000,
        maxStatsdIntervalValues: 1000,
      },
      DEFAULT_STATSD_OPTIONS,
      { sink, metrics: registry, clock: { now: () => nowMs } },
    );
    const index = new SeriesIndex();
    const names = ['w.a.count', 'w.b.mean', 'w.c;k=v1', 'w.c;k=v2'];
    for (const name of names) index.add(name);
    // the oracle: per (name, 10 s window), what its rule makes of the samples (sum for .count, else average)
    const sent = new Map<string, number[]>();
    const send = (name: string, value: number, timestamp: number): void => {
      expect(aggregator.addGraphite({ name, value, timestamp })).toBe(true);
      const key = `${name}|${timestamp - (timestamp % 10)}`;
      sent.set(key, [...(sent.get(key) ?? []), value]);
    };
    const start = now();
    // 12 windows: the first 8 flushed and written before the renders, the next 3 handed to the sink just before
    // them (written while they read), the last one still open in the aggregator
    for (let w = 0; w < 12; w++) {
      nowMs = (start + w * 10 + 8) * 1000;
      for (const [i, name] of names.entries()) {
        send(name, w * 10 + i - 3.5, start + w * 10 + 1);
        send(name, i + 0.25, start + w * 10 + 7);
      }
      // never in the index: read because the store has values for it (a literal name)
      send('w.hidden.count', w + 1, start + w * 10 + 2);
      if (w === 7) {
        aggregator.tick(start + 82);
        await sink.drain();
      }
    }
    const pending: PendingSource = {
      pending: (name, resolution, from, until) => [
        ...aggregator.pending(name, resolution, from, until),
        ...sink.pending(name, resolution, from, until),
      ],
    };
    const open = async (
      render: typeof RENDER | undefined,
      workerReader: boolean,
      maxRenderBytes?: number,
      maxSeriesPerRender?: number,
    ) => {
      const api = createGraphiteApi({
        limits: {
          ...(maxRenderBytes ? { maxRenderBytes } : {}),
          ...(maxSeriesPerRender ? { maxSeriesPerRender } : {}),
        },
        index,
        reader: store,
        ...(workerReader ? { workerReader: store.workerReader() } : {}),
        pending,
        resolutions,
        now,
        render,
      });
      const served = await serve(api);
      closers.push(async () => {
        await new Promise<void>((resolve) => served.server.close(() => resolve()));
        await api.close();
      });
      return { ...served, api };
    };
    const workersRead = await open(RENDER, true);
    const mainReads = await open(RENDER, false);
    const noWorkers = await open(undefined, false);

    // hand windows 8 to 10 to the sink; the renders below run while their write is under way
    aggregator.tick(now());
    const range = `from=${start - 10}&until=${start + 120}`;
    const q = encodeURIComponent;
    const paths = [
      `/render?target=w.*.*&${range}`,
      `/render?target=w.a.count&target=w.hidden.count&target=w.none.count&${range}&format=csv`,
      `/render?target=${q("seriesByTag('k=~v.*')")}&${range}&format=pickle`,
      `/render?target=${q('sumSeries(w.*.*)')}&${range}&format=msgpack`,
      `/render?target=${q('aliasByNode(w.*.*, 1)')}&${range}&maxDataPoints=5`,
      `/render?target=w.*.*&from=${start - 3600}&until=${start + 200}&maxDataPoints=7`,
      // many targets, read in one batch by a worker: literals (one the index lacks, one nobody has), globs, tags,
      // a read over another range, a template, one text read consolidated two ways; consolidated as read
      // (maxDataPoints=5) and not (1000: more than the points, so each series is copied out of the reused array)
      ...['5', '1000'].map(
        (mdp) =>
          `/render?${[
            'aliasByNode(w.a.count, 1)',
            'w.hidden.count',
            'w.none.count',
            "seriesByTag('k=v1')",
            "consolidateBy(w.b.mean, 'max')",
            "alias(w.*.*, 'x')",
          ]
            .map((t) => `target=${q(t)}`)
            .join('&')}&${range}&maxDataPoints=${mdp}`,
      ),
      `/render?${[
        "timeShift(w.b.mean, '20s')",
        "template(w.$x.count, x='a')",
        "consolidateBy(w.*.*, 'max')",
        'w.*.*',
        'sumSeries(w.*.*, w.a.count)',
        'w.hidden.count',
      ]
        .map((t) => `target=${q(t)}`)
        .join('&')}&${range}&maxDataPoints=5`,
    ];
    const answers = await Promise.all(paths.map((p) => workersRead.get(p)));
    // a cluster Fetch of many series, read in a worker, while the sink's write may be under way
    expect(workersRead.api.fetchMany).toBeDefined();
    expect(mainReads.api.fetchMany).toBeUndefined();
    const fetchSources = {
      finder: indexFinder(index),
      reader: store,
      pending,
      resolutions,
      aggregationRules: DEFAULT_AGGREGATION_RULES,
    };
    const fetchNames = [...names, 'w.hidden.count', 'w.none.count'];
    const fetched = queryHandler({ ...fetchSources, fetchMany: workersRead.api.fetchMany }).fetch(
      fetchNames,
      10,
      start - 10,
      start + 120,
    );
    await sink.drain();
    expect(await fetched).toEqual(await queryHandler(fetchSources).fetch(fetchNames, 10, start - 10, start + 120));
    for (const [i, path] of paths.entries()) {
      expect(answers[i]!.startsWith('200 '), path).toBe(true);
      expect(answers[i], path).toBe(await mainReads.get(path));
      expect(answers[i], path).toBe(await noWorkers.get(path));
    }

    // and every window read equals the oracle: window 11 exists only in the aggregator
    expect(aggregator.pending('w.a.count', resolutions[0]!, start + 110, start + 120)).toHaveLength(1);
    const json = Buffer.from(
      (await workersRead.get(`/render?target=w.*.*&target=w.hidden.count&${range}`)).slice(4),
      'base64',
    );
    const rendered = new Map<string, number>();
    for (const s of JSON.parse(json.toString()) as { target: string; datapoints: [number | null, number][] }[])
      for (const [v, t] of s.datapoints) if (v !== null) rendered.set(`${s.target}|${t}`, v);
    const expected = new Map<string, number>();
    for (const [key, values] of sent) {
      const sum = values.reduce((a, b) => a + b, 0);
      if (!key.startsWith('w.c;')) expected.set(key, key.includes('.count|') ? sum : sum / values.length);
    }
    expect(rendered).toEqual(expected);

    // the byte budget holds where the values are read: 2 series × 12 windows × 8 bytes is more than 150, one is not
    const small = await open(RENDER, true, 150);
    const refused = await small.get(`/render?target=w.*.*&${range}`);
    expect(refused.startsWith('400 ')).toBe(true);
    expect(Buffer.from(refused.slice(4), 'base64').toString()).toMatch(/query\.render_max_bytes/);
    expect((await small.get(`/render?target=w.a.count&${range}`)).startsWith('200 ')).toBe(true);

    // the series budget over a batch of reads: the same answer as reading one target at a time, whichever fails
    // first (a function evaluated before the read over the budget, or that read)
    const fewWorkers = await open(RENDER, true, undefined, 2);
    const fewMain = await open(undefined, false, undefined, 2);
    for (const [targets, status, text] of [
      [['w.a.count', 'w.b.mean', 'w.*.*'], 400, 'more than 2 series'],
      [["movingAverage(w.a.count, 'x')", 'w.*.*'], 400, 'invalid interval'],
      [['nosuch(w.*.*)', 'w.a.count'], 400, 'unknown function'],
      [['w.a.count', 'w.b.mean', 'w.a.count'], 200, 'w.b.mean'],
    ] as const) {
      const path = `/render?${targets.map((t) => `target=${q(t)}`).join('&')}&${range}`;
      const answer = await fewWorkers.get(path);
      expect(answer, path).toBe(await fewMain.get(path));
      expect(answer.startsWith(`${status} `), path).toBe(true);
      expect(Buffer.from(answer.slice(4), 'base64').toString(), path).toContain(text);
    }
    await sink.close();
    await store.close();
  });
});
