/**
 * The requests Grafana 11/12's Graphite data source sends, replayed against the API and read the way Grafana reads
 * the answers: a browser preflight and CORS, render with the aliasSub wrapper it puts around every target,
 * "Save & test" (constantLine(100)), find with from/until, tag autocomplete, /functions and /version.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeBatch, parseResolutions, statPointOf, type Resolution } from '@carillon/core';
import { createGraphiteApi, MemoryStore, SeriesIndex } from '@carillon/query';

const NOW = 1_700_000_400;
const GRAFANA = 'http://grafana.test:3000';
const resolutions = parseResolutions(['10s:1h', '1m:1d']);
const [tenSeconds] = resolutions as [Resolution];
let server: Server;
let base: string;

beforeAll(async () => {
  const store = new MemoryStore({ now: () => NOW });
  const index = new SeriesIndex();
  for (const [name, value] of [
    ['app.web1.requests', 5],
    ['app.web2.requests', 7],
    ['latency;dc=east;host=web1', 0.25],
  ] as const) {
    index.add(name);
    for (let t = NOW - 300; t < NOW; t += 10)
      await store.write(makeBatch(tenSeconds, t, [[name, statPointOf(t, value)]]));
  }
  const api = createGraphiteApi({
    index,
    reader: store,
    pending: { pending: () => [] },
    resolutions,
    now: () => NOW,
    cors: { allowedOrigins: [GRAFANA] },
  });
  server = createServer((req, res) => {
    void api(req, res).then((handled) => {
      if (!handled) res.writeHead(404).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** Grafana posts render queries as a form. */
function renderForm(targets: string[], extra: Record<string, string> = {}): string {
  const form = new URLSearchParams();
  for (const target of targets) form.append('target', target);
  for (const [k, v] of Object.entries({ from: '-5min', until: 'now', format: 'json', maxDataPoints: '1304', ...extra }))
    form.append(k, v);
  return form.toString();
}

interface Series {
  target: string;
  tags: Record<string, string>;
  datapoints: [number | null, number][];
}

describe('Grafana 11/12 against the Graphite API', () => {
  it('answers the browser preflight for an allowed origin', async () => {
    const response = await fetch(`${base}/render`, {
      method: 'OPTIONS',
      headers: {
        origin: GRAFANA,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type,x-grafana-org-id,x-panel-id,x-dashboard-uid',
      },
    });
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe(GRAFANA);
    expect(response.headers.get('access-control-allow-credentials')).toBe('true');
    expect(response.headers.get('access-control-allow-methods')).toBe('GET, POST, OPTIONS');
    expect(response.headers.get('access-control-allow-headers')).toBe(
      'content-type,x-grafana-org-id,x-panel-id,x-dashboard-uid',
    );
    expect(response.headers.get('vary')).toBe('Origin');
  });

  it('gives other origins no CORS headers, so their browsers refuse', async () => {
    const preflight = await fetch(`${base}/render`, {
      method: 'OPTIONS',
      headers: { origin: 'http://elsewhere.test', 'access-control-request-method': 'POST' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    const render = await fetch(`${base}/render?target=app.*.requests&from=-1min&format=json`, {
      headers: { origin: 'http://elsewhere.test' },
    });
    expect(render.status).toBe(200);
    expect(render.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('renders targets in the aliasSub wrapper, with CORS headers on the answer', async () => {
    const response = await fetch(`${base}/render`, {
      method: 'POST',
      headers: { origin: GRAFANA, 'content-type': 'application/x-www-form-urlencoded', 'x-grafana-org-id': '1' },
      body: renderForm([
        'aliasSub(sumSeries(app.*.requests), "(^.*$)", "\\1 A")',
        'aliasSub(aliasByTags(seriesByTag(\'name=latency\'), \'host\'), "(^.*$)", "\\1 B")',
      ]),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('access-control-allow-origin')).toBe(GRAFANA);
    const series = (await response.json()) as Series[];
    expect(series.map((s) => s.target)).toEqual(['sumSeries(app.*.requests) A', 'web1 B']);
    // the window of until=now is the one still open: no value yet
    expect(series[0]!.datapoints.at(-2)).toEqual([12, NOW - 10]);
    expect(series[1]!.datapoints.at(-2)).toEqual([0.25, NOW - 10]);
  });

  it('answers "Save & test": constantLine(100)', async () => {
    const response = await fetch(`${base}/render`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: renderForm(['aliasSub(constantLine(100), "(^.*$)", "\\1 A")'], { from: '-1h', maxDataPoints: '300' }),
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual([
      {
        target: '100.0 A',
        tags: { name: '100.0' },
        datapoints: [
          [100, NOW - 3600],
          [100, NOW - 1800],
          [100, NOW],
        ],
      },
    ]);
  });

  it('finds metrics with from/until and autocompletes tags', async () => {
    const find = await fetch(`${base}/metrics/find?query=app.*&from=${NOW - 3600}&until=${NOW}`);
    expect(((await find.json()) as { text: string }[]).map((n) => n.text)).toEqual(['web1', 'web2']);
    const tags = await fetch(
      `${base}/tags/autoComplete/tags?tagPrefix=&limit=100&expr=${encodeURIComponent('name=latency')}`,
    );
    expect(await tags.json()).toEqual(['dc', 'host']);
    const values = await fetch(`${base}/tags/autoComplete/values?tag=host&valuePrefix=w&limit=100`);
    expect(await values.json()).toEqual(['web1']);
  });

  it('describes functions in the form Grafana parses, and a 1.1 version', async () => {
    const text = await (await fetch(`${base}/functions`)).text();
    const functions = JSON.parse(text) as Record<string, { params: { name: string; default?: unknown }[] }>;
    expect(functions.aliasSub!.params.map((p) => p.name)).toEqual(['seriesList', 'search', 'replace']);
    expect(functions.keepLastValue!.params[1]).toEqual({ name: 'limit', type: 'intOrInf', default: Infinity });
    expect(await (await fetch(`${base}/version`)).text()).toMatch(/^1\.1\.\d+$/);
  });
});
