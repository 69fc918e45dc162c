/**
 * Renders in worker threads under their budgets: past the time budget, the memory budget or the queue each answers
 * 503 with the reason and is counted; past the byte budget 400; the workers keep answering afterwards, and a render
 * through the workers answers what the calling thread answers.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeBatch, MetricsRegistry, parseResolutions, statPointOf, type Resolution } from '@carillon/core';
import { createGraphiteApi, MemoryStore, SeriesIndex, type GraphiteApi, type RenderPoolOptions } from '@carillon/query';

const NOW = 1_700_000_400;
const resolutions = parseResolutions(['10s:1d']);
const q = encodeURIComponent;

interface Running {
  base: string;
  registry: MetricsRegistry;
  api: GraphiteApi;
  server: Server;
}

const running: Running[] = [];
let store: MemoryStore;
let index: SeriesIndex;

async function start(render: RenderPoolOptions | undefined, maxRenderBytes = 1 << 30): Promise<Running> {
  const registry = new MetricsRegistry();
  const api = createGraphiteApi({
    index,
    reader: store,
    pending: { pending: () => [] },
    resolutions,
    now: () => NOW,
    render,
    metrics: registry,
    limits: { maxRenderBytes },
  });
  const server = createServer((req, res) => void api(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const r = { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, registry, api, server };
  running.push(r);
  return r;
}

async function get(r: Running, path: string): Promise<{ status: number; body: string }> {
  const response = await fetch(r.base + path, { signal: AbortSignal.timeout(30_000) });
  return { status: response.status, body: await response.text() };
}

beforeAll(async () => {
  store = new MemoryStore({ now: () => NOW, maxPoints: 1_000_000 });
  index = new SeriesIndex();
  const names = Array.from({ length: 20 }, (_, i) => `budget.s${i}`);
  for (const name of names) index.add(name);
  for (let t = NOW - 3600; t < NOW; t += 10)
    await store.write(
      makeBatch(
        resolutions[0] as Resolution,
        t,
        names.map((n, i) => [n, statPointOf(t, ((t / 10) % 17) + i)]),
      ),
    );
});

afterAll(async () => {
  for (const r of running) {
    await new Promise<void>((resolve) => r.server.close(() => resolve()));
    await r.api.close();
  }
});

const workers = (o: Partial<RenderPoolOptions>): RenderPoolOptions => ({
  workers: 2,
  timeBudgetMs: 30_000,
  memoryBudgetBytes: 512 << 20,
  maxQueued: 16,
  ...o,
});

describe('render workers and their budgets', () => {
  it('answers in a worker exactly what the calling thread answers', async () => {
    const here = await start(undefined);
    const there = await start(workers({}));
    for (const target of [
      'sumSeries(budget.*)',
      "aliasByNode(consolidateBy(budget.s1*, 'max'), 1)",
      'movingAverage(budget.s3, 5)',
    ])
      for (const extra of ['', '&maxDataPoints=7', '&maxDataPoints=1', '&format=csv']) {
        const path = `/render?target=${q(target)}&from=-1h${extra}`;
        const [a, b] = [await get(here, path), await get(there, path)];
        expect(b.status).toBe(200);
        expect(b.body).toBe(a.body);
      }
    expect(there.registry.render()).toMatch(/query_renders_total\{outcome="ok"\} 12/);
  });

  it('splits a render of several targets over idle workers and answers what one thread answers', async () => {
    const here = await start(undefined);
    const there = await start(workers({}));
    const requests: string[][] = [
      ['budget.s1', 'budget.s2', 'budget.s3'],
      // one part's series starts before `from` (summarize aligns its buckets to the interval): maxDataPoints
      // consolidates every series over the whole answer's range
      ['budget.s6', 'summarize(budget.s5, "17min")'],
      ['timeShift(budget.s5, "20min")', 'budget.s4', 'budget.s7'],
      // the first target in order that fails is the one the answer names, whichever part fails first
      ['budget.s1', 'movingAverage(budget.s2, "oops")', 'budget.s3', 'nosuchFunction(budget.s4)'],
      // stacked() totals run across targets: not split
      ['stacked(budget.s1)', 'stacked(budget.s2)'],
    ];
    for (const targets of requests)
      for (const extra of ['', '&maxDataPoints=7', '&noNullPoints', '&format=json&jsonp=cb']) {
        const path = `/render?${targets.map((t) => `target=${q(t)}`).join('&')}&from=-1h${extra}`;
        const [a, b] = [await get(here, path), await get(there, path)];
        expect(b.status, `${path}: ${b.body.slice(0, 200)}`).toBe(a.status);
        expect(b.body).toBe(a.body);
      }
    expect(there.registry.render()).toMatch(/query_render_split_total\{by="targets"\} 16/);
  });

  it("makes each render's reads on this thread in the async context of its request", async () => {
    // a reader may keep per-request state there (the relay's ClusterRead names the members missing from an answer)
    const request = new AsyncLocalStorage<string>();
    const seen: string[] = [];
    const api = createGraphiteApi({
      index,
      reader: {
        fetch: (name, resolution, from, until) => {
          seen.push(`${request.getStore()} read ${name}`);
          return store.fetch(name, resolution, from, until);
        },
      },
      pending: { pending: () => [] },
      resolutions,
      now: () => NOW,
      render: workers({ workers: 1 }),
    });
    const server = createServer((req, res) => request.run(req.url!, () => void api(req, res)));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    running.push({ base: '', registry: new MetricsRegistry(), api, server });
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const paths = ['budget.s1', 'budget.s2', 'budget.s3'].map((t) => `/render?target=${t}&from=-1min`);
    const answers = await Promise.all(paths.map((path) => fetch(base + path, { signal: AbortSignal.timeout(30_000) })));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
    expect(seen.sort()).toEqual(paths.map((path, i) => `${path} read budget.s${i + 1}`));
  });

  it('answers 503 past the time budget, counts it, and keeps answering', async () => {
    const r = await start(workers({ workers: 1, timeBudgetMs: 200 }));
    const started = performance.now();
    const slow = await get(r, `/render?target=${q("randomWalk('w', 1)")}&from=-1y`);
    expect(slow.status).toBe(503);
    expect(slow.body).toContain('query.render_time_budget');
    expect(performance.now() - started).toBeLessThan(3000);
    expect(r.registry.render()).toContain('query_render_refused_total{reason="time_budget"} 1');
    // the worker, still deep in randomWalk a second later, is replaced; the new one answers once it has started
    let status = 0;
    for (const until = Date.now() + 10_000; status !== 200 && Date.now() < until;)
      status = (await get(r, `/render?target=budget.s1&from=-1min`)).status;
    expect(status).toBe(200);
    expect(r.registry.render()).toMatch(/query_render_worker_restarts_total [1-9]/);
  });

  it('answers 503 past the memory budget, replaces the worker, and keeps answering', async () => {
    const r = await start(workers({ workers: 1, memoryBudgetBytes: 48 << 20 }));
    const big = await get(r, `/render?target=${q("randomWalk('w', 1)")}&from=-1y`);
    expect(big.status).toBe(503);
    expect(big.body).toContain('query.render_memory_budget');
    expect(r.registry.render()).toContain('query_render_refused_total{reason="memory_budget"} 1');
    expect((await get(r, `/render?target=budget.s1&from=-1min`)).status).toBe(200);
  });

  it('answers 503 when every worker is busy and the queue is full', async () => {
    const r = await start(workers({ workers: 1, maxQueued: 1, timeBudgetMs: 1500 }));
    const slow = `/render?target=${q("randomWalk('w', 1)")}&from=-1y`;
    const answers = await Promise.all([get(r, slow), get(r, slow), get(r, slow)]);
    const full = answers.filter((a) => a.body.includes('query.render_max_queued'));
    expect(full).toHaveLength(1);
    expect(full[0]!.status).toBe(503);
    expect(r.registry.render()).toContain('query_render_refused_total{reason="queue_full"} 1');
  });

  it('answers 400 past the byte budget, before reading, and 400 naming the position of a bad target', async () => {
    const r = await start(workers({}), 360 * 8 * 5);
    const tooMuch = await get(r, `/render?target=budget.*&from=-1h`);
    expect(tooMuch.status).toBe(400);
    expect(tooMuch.body).toContain('query.render_max_bytes');
    // consolidated as read, the same series fit
    expect((await get(r, `/render?target=budget.*&from=-1h&maxDataPoints=10`)).status).toBe(200);
    const bad = await get(r, `/render?target=${q('sumSeries(budget.*')}`);
    expect(bad.status).toBe(400);
    expect(bad.body).toContain('at character 19');
  });
});
