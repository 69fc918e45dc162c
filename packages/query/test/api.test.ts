import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  makeBatch,
  parseResolutions,
  statPointOf,
  type PendingSource,
  type Resolution,
  type StatPoint,
} from '@carillon/core';
import { createGraphiteApi, MemoryStore, SeriesIndex } from '@carillon/query';

// A multiple of 60, so 10s and 1m windows both end at NOW.
const NOW = 1_700_000_400;
const resolutions = parseResolutions(['10s:1h', '1m:1d']);
const [tenSeconds, oneMinute] = resolutions as [Resolution, Resolution];

function point(time: number, sum: number, count = 1): StatPoint {
  return { ...statPointOf(time, sum / count), sum, count };
}

/** Windows an aggregator would still hold: fixed StatPoints per (resolution, series). */
class FixedPending implements PendingSource {
  private readonly points = new Map<string, StatPoint[]>();
  add(resolution: Resolution, name: string, ...points: StatPoint[]): void {
    const key = `${resolution.index}|${name}`;
    this.points.set(key, [...(this.points.get(key) ?? []), ...points]);
  }
  pending(name: string, resolution: Resolution, from: number, until: number): StatPoint[] {
    return (this.points.get(`${resolution.index}|${name}`) ?? []).filter((p) => p.time >= from && p.time < until);
  }
}

const store = new MemoryStore({ now: () => NOW });
const pending = new FixedPending();
const index = new SeriesIndex();
let server: Server;
let base: string;

/** Writes one 10s window per entry through the store's Writer interface, indexing the names as flushes do. */
async function flush(resolution: Resolution, time: number, entries: [string, StatPoint][]): Promise<void> {
  for (const [name] of entries) index.add(name);
  await store.write(makeBatch(resolution, time, entries));
}

beforeAll(async () => {
  const t = (slot: number) => NOW - 60 + slot * 10;
  // servers.web1.cpu.user over the last minute: slots 0, 1, 3 stored; 1, 4, 5 pending (1 is already stored)
  await flush(tenSeconds, t(0), [['servers.web1.cpu.user', point(t(0), 10, 2)]]);
  await flush(tenSeconds, t(1), [['servers.web1.cpu.user', point(t(1), 7)]]);
  await flush(tenSeconds, t(3), [['servers.web1.cpu.user', point(t(3), 9, 3)]]);
  pending.add(tenSeconds, 'servers.web1.cpu.user', point(t(1), 100), point(t(4), 4), point(t(4), 8), point(t(5), 2));
  // a counter: pending windows are reduced by its sum rule
  await flush(tenSeconds, t(0), [['servers.web1.requests.count', point(t(0), 30, 3)]]);
  pending.add(tenSeconds, 'servers.web1.requests.count', point(t(5), 12, 4));

  // servers.web2.cpu.user over the last two minutes, for consolidation: slots 0..10 stored, 11 pending
  const u = (slot: number) => NOW - 120 + slot * 10;
  const web2 = [100, 200, 9, 4, 5, 6, null, 8, 3, 10, 1];
  for (const [slot, value] of web2.entries())
    if (value !== null) await flush(tenSeconds, u(slot), [['servers.web2.cpu.user', point(u(slot), value)]]);
  pending.add(tenSeconds, 'servers.web2.cpu.user', point(u(11), 12));

  // an hour ago, only in the 1m resolution
  await flush(oneMinute, NOW - 3600, [['servers.web1.cpu.user', point(NOW - 3600, 42)]]);
  index.add('servers.web1.cpu.system');
  index.add('servers.db1.disk');
  index.add('servers.db1.disk.sda');

  await flush(tenSeconds, t(5), [
    ['disk.used;dc=east;host=a', point(t(5), 50)],
    ['disk.used;dc=west;host=b', point(t(5), 70)],
    ['disk.free;dc=east;host=a', point(t(5), 30)],
  ]);

  const api = createGraphiteApi({
    index,
    reader: store,
    pending,
    resolutions,
    now: () => NOW,
    limits: { maxBodyBytes: 4096, maxTargets: 5, maxRenderBytes: 8000 },
  });
  server = createServer((req, res) => {
    void api(req, res).then((handled) => {
      if (!handled) {
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end('not a graphite route');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

async function get(path: string): Promise<{ status: number; body: unknown; text: string }> {
  const response = await fetch(base + path);
  const text = await response.text();
  return {
    status: response.status,
    text,
    body: text.startsWith('[') || text.startsWith('{') ? JSON.parse(text) : text,
  };
}

/** Posts a form the way Grafana's Graphite data source does. */
async function postForm(path: string, fields: [string, string][]): Promise<{ status: number; body: unknown }> {
  const response = await fetch(base + path, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: fields.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&'),
  });
  return { status: response.status, body: await response.json() };
}

const q = encodeURIComponent;

describe('/metrics/find', () => {
  it('answers treejson with branches before leaves', async () => {
    const { status, body } = await get('/metrics/find?query=servers.*');
    expect(status).toBe(200);
    expect(body).toEqual([
      { text: 'db1', id: 'servers.db1', leaf: 0, expandable: 1, allowChildren: 1 },
      { text: 'web1', id: 'servers.web1', leaf: 0, expandable: 1, allowChildren: 1 },
      { text: 'web2', id: 'servers.web2', leaf: 0, expandable: 1, allowChildren: 1 },
    ]);
    expect((await get(`/metrics/find/?query=${q('servers.web1.*')}`)).body).toEqual([
      { text: 'cpu', id: 'servers.web1.cpu', leaf: 0, expandable: 1, allowChildren: 1 },
      { text: 'requests', id: 'servers.web1.requests', leaf: 0, expandable: 1, allowChildren: 1 },
    ]);
    expect((await get(`/metrics/find?query=${q('servers.web{1,2}.cpu.u[a-z]er')}`)).body).toEqual([
      { text: 'user', id: 'servers.web{1,2}.cpu.user', leaf: 1, expandable: 0, allowChildren: 0 },
    ]);
    expect((await get('/metrics/find?query=servers.db1.*')).body).toEqual([
      { text: 'disk', id: 'servers.db1.disk', leaf: 1, expandable: 1, allowChildren: 1 },
    ]);
  });

  it('answers the completer format and adds a wildcard entry on request', async () => {
    expect((await get('/metrics/find?format=completer&query=servers.web1.cpu.')).body).toEqual({
      metrics: [
        { path: 'servers.web1.cpu.system', name: 'system', is_leaf: '1' },
        { path: 'servers.web1.cpu.user', name: 'user', is_leaf: '1' },
      ],
    });
    const tree = (await get('/metrics/find?query=servers.web1.cpu.*&wildcards=1')).body as { text: string }[];
    expect(tree.map((n) => n.text)).toEqual(['*', 'system', 'user']);
  });

  it('accepts a POSTed form', async () => {
    const { body } = await postForm('/metrics/find', [['query', 'servers.web2.cpu.*']]);
    expect(body).toEqual([{ text: 'user', id: 'servers.web2.cpu.user', leaf: 1, expandable: 0, allowChildren: 0 }]);
  });

  it('refuses a missing query and an unknown format', async () => {
    expect(await get('/metrics/find')).toMatchObject({ status: 400, body: { message: 'missing parameter "query"' } });
    expect(await get('/metrics/find?query=a&format=xml')).toMatchObject({
      status: 400,
      body: { message: 'unsupported find format "xml": use treejson, completer, pickle or msgpack' },
    });
  });
});

describe('/metrics/expand and /metrics/index.json', () => {
  it('expands queries, optionally leaves only and grouped by query', async () => {
    expect((await get('/metrics/expand?query=servers.web*.cpu.user&query=servers.db1.*')).body).toEqual({
      results: ['servers.db1.disk', 'servers.web1.cpu.user', 'servers.web2.cpu.user'],
    });
    expect((await get('/metrics/expand?query=servers.*&leavesOnly=1')).body).toEqual({ results: [] });
    expect((await get('/metrics/expand?query=servers.db1.*&query=servers.web2.*&groupByExpr=1')).body).toEqual({
      results: { 'servers.db1.*': ['servers.db1.disk'], 'servers.web2.*': ['servers.web2.cpu'] },
    });
  });

  it('lists every known series', async () => {
    expect((await get('/metrics/index.json')).body).toEqual([
      'disk.free;dc=east;host=a',
      'disk.used;dc=east;host=a',
      'disk.used;dc=west;host=b',
      'servers.db1.disk',
      'servers.db1.disk.sda',
      'servers.web1.cpu.system',
      'servers.web1.cpu.user',
      'servers.web1.requests.count',
      'servers.web2.cpu.user',
    ]);
  });
});

// Windows as graphite-web (whisper's fetch) returns them: after the one holding `from`, through the one holding
// `until` (the differential test in test/graphite-web proves it on the same files).
describe('/render', () => {
  const ts = (slot: number) => NOW - 60 + slot * 10;

  it('merges stored values with pending windows the store has no value for', async () => {
    const { status, body } = await get(`/render?target=servers.web1.cpu.user&from=-1min&until=now&format=json`);
    expect(status).toBe(200);
    expect(body).toEqual([
      {
        target: 'servers.web1.cpu.user',
        tags: { name: 'servers.web1.cpu.user' },
        datapoints: [
          [7, ts(1)],
          [null, ts(2)],
          [3, ts(3)],
          [6, ts(4)],
          [2, ts(5)],
          [null, NOW],
        ],
      },
    ]);
  });

  it('reduces pending windows with the series aggregation rule', async () => {
    const { body } = await get(`/render?target=servers.web1.requests.count&from=-60s`);
    expect((body as { datapoints: unknown[] }[])[0]!.datapoints).toEqual([
      [null, ts(1)],
      [null, ts(2)],
      [null, ts(3)],
      [null, ts(4)],
      [12, ts(5)],
      [null, NOW],
    ]);
  });

  it('reads the finest resolution whose retention covers from', async () => {
    const { body } = await get(`/render?target=servers.web1.cpu.user&from=-2h&until=-50min`);
    const [series] = body as { datapoints: [number | null, number][] }[];
    expect(series!.datapoints).toHaveLength(70);
    expect(series!.datapoints[0]).toEqual([null, NOW - 7140]);
    expect(series!.datapoints[59]).toEqual([42, NOW - 3600]);
    expect(series!.datapoints.filter(([v]) => v !== null)).toHaveLength(1);
  });

  const consolidated: [fn: string, values: (number | null)[]][] = [
    ['avg', [6, 7, 14 / 3, 12]],
    ['sum', [18, 14, 14, 12]],
    ['min', [4, 6, 1, 12]],
    ['max', [9, 8, 10, 12]],
    ['first', [9, 6, 3, 12]],
    ['last', [5, 8, 1, 12]],
  ];
  it.each(consolidated)(
    'consolidates to maxDataPoints with consolidateBy %s, posted as Grafana does',
    async (fn, values) => {
      const { status, body } = await postForm('/render', [
        ['target', `consolidateBy(servers.web2.cpu.user, '${fn}')`],
        ['from', '-2min'],
        ['until', 'now'],
        ['format', 'json'],
        ['maxDataPoints', '4'],
      ]);
      expect(status).toBe(200);
      // graphite-web names the function as it was given (avg stays avg)
      const name = fn;
      // 12 windows (NOW-110..NOW) into 4 points: nudged to NOW-90 with the leading 200 dropped, as graphite-web does
      expect(body).toEqual([
        {
          target: `consolidateBy(servers.web2.cpu.user,"${name}")`,
          tags: { name: 'servers.web2.cpu.user', consolidateBy: name },
          datapoints: values.map((v, i) => [v, NOW - 90 + i * 30]),
        },
      ]);
    },
  );

  it('averages by default and reduces to one point with maxDataPoints=1', async () => {
    const { body } = await get(`/render?target=servers.web2.cpu.user&from=-2min&maxDataPoints=4`);
    expect((body as { datapoints: unknown[] }[])[0]!.datapoints).toEqual([
      [6, NOW - 90],
      [7, NOW - 60],
      [14 / 3, NOW - 30],
      [12, NOW],
    ]);
    const one = await get(`/render?target=servers.web2.cpu.user&from=-2min&maxDataPoints=1`);
    expect((one.body as { datapoints: unknown[] }[])[0]!.datapoints).toEqual([[25.8, NOW - 110]]);
  });

  it('renders several targets: globs, aliases and seriesByTag', async () => {
    const { status, body } = await postForm('/render', [
      ['target', `alias(servers.web1.requests.count, 'requests')`],
      ['target', 'aliasByNode(servers.*.cpu.user, 1)'],
      ['target', `seriesByTag('name=disk.used', 'dc!=west')`],
      ['target', `aliasByTags(seriesByTag('name=~disk', 'host=~[ab]', 'dc!=~e'), 'host', 'name')`],
      ['from', '-20s'],
      ['until', '-5s'],
      ['format', 'json'],
    ]);
    expect(status).toBe(200);
    expect(body).toEqual([
      { target: 'requests', tags: { name: 'servers.web1.requests.count' }, datapoints: [[12, ts(5)]] },
      { target: 'web1', tags: { name: 'servers.web1.cpu.user' }, datapoints: [[2, ts(5)]] },
      { target: 'web2', tags: { name: 'servers.web2.cpu.user' }, datapoints: [[12, ts(5)]] },
      {
        target: 'disk.used;dc=east;host=a',
        tags: { name: 'disk.used', dc: 'east', host: 'a' },
        datapoints: [[50, ts(5)]],
      },
      { target: 'b.disk.used', tags: { name: 'disk.used', dc: 'west', host: 'b' }, datapoints: [[70, ts(5)]] },
    ]);
  });

  it('answers a tagged name given as a plain target, and nothing for unknown series', async () => {
    const { body } = await get(`/render?target=${q('disk.free;host=a;dc=east')}&from=-20s&until=-5s`);
    expect(body).toEqual([
      {
        target: 'disk.free;dc=east;host=a',
        tags: { name: 'disk.free', dc: 'east', host: 'a' },
        datapoints: [[30, ts(5)]],
      },
    ]);
    expect((await get(`/render?target=no.such.series&target=no.*.glob&from=-10s`)).body).toEqual([]);
    expect((await get(`/render?from=-10s`)).body).toEqual([]);
  });

  it('drops null points with noNullPoints and answers raw and csv', async () => {
    const { body } = await get(`/render?target=servers.web1.cpu.user&from=-1min&noNullPoints=1`);
    expect((body as { datapoints: unknown[] }[])[0]!.datapoints).toHaveLength(4);
    const raw = await get(`/render?target=servers.web1.cpu.user&from=-1min&format=raw`);
    // values as Python's repr writes them
    expect(raw.text).toBe(`servers.web1.cpu.user,${NOW - 50},${NOW + 10},10|7.0,None,3.0,6.0,2.0,None\n`);
    const csv = await get(`/render?target=servers.web1.requests.count&from=-20s&format=csv`);
    expect(csv.text).toBe(
      'servers.web1.requests.count,2023-11-14 22:19:50,12.0\r\nservers.web1.requests.count,2023-11-14 22:20:00,\r\n',
    );
  });

  const refused: [query: string, status: number, message: string][] = [
    ['target=frobnicate(a.b)', 400, 'unknown function "frobnicate"'],
    ['target=a.b&from=-1m', 400, 'invalid time "-1m": unknown unit "m" (use s, min, h, d, w, mon or y)'],
    ['target=a.b&from=now&until=now', 400, 'empty time range: from and until are the same time'],
    ['target=a.b&maxDataPoints=0', 400, 'parameter "maxDataPoints" must be a positive integer'],
    ['target=a.b&format=png', 400, 'unsupported render format "png": use json, csv, raw, pickle, msgpack'],
    [`target=${q("consolidateBy(a.b, 'median')")}&from=-1min`, 400, 'unknown consolidation function "median"'],
    [`target=${q('alias(a.b)')}&from=-1min`, 400, 'missing required parameter "newName" for function "alias"'],
    [`target=${q("seriesByTag('dc!=x')")}`, 400, 'needs at least one expression that requires a non-empty value'],
    [`target=${q('alias(a.b, "x"')}`, 400, 'missing ")"'],
    ['target=servers.*.cpu.user&from=-2d', 400, 'render holds more than 8000 bytes of values'],
    ['target=a&target=b&target=c&target=d&target=e&target=f', 400, '6 targets is more than the limit of 5'],
  ];
  it.each(refused)('refuses %s', async (query, status, message) => {
    const response = await get(`/render?${query}`);
    expect(response.status).toBe(status);
    expect((response.body as { message: string }).message).toContain(message);
  });

  it('refuses a body over the configured limit with 413', async () => {
    const response = await fetch(`${base}/render`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `target=${'a'.repeat(5000)}`,
    });
    expect(response.status).toBe(413);
    expect(await response.json()).toEqual({
      error: 'request body is larger than 4096 bytes',
      message: 'request body is larger than 4096 bytes',
    });
  });
});

describe('/tags', () => {
  it('lists tags and the values of one tag', async () => {
    expect((await get('/tags')).body).toEqual([{ tag: 'dc' }, { tag: 'host' }, { tag: 'name' }]);
    expect((await get('/tags?filter=h')).body).toEqual([{ tag: 'host' }]);
    expect((await get('/tags/dc')).body).toEqual({
      tag: 'dc',
      values: [
        { count: 2, value: 'east' },
        { count: 1, value: 'west' },
      ],
    });
    expect((await get('/tags/dc?filter=w')).body).toEqual({ tag: 'dc', values: [{ count: 1, value: 'west' }] });
  });

  it('refuses tag database writes, which graphite-web has and carillon does not', async () => {
    expect(await postForm('/tags/tagSeries', [['path', 'a.b;k=v']])).toEqual({
      status: 400,
      body: {
        error: '/tags/tagSeries is not supported: series get their tags from the metric names sent to carillon',
        message: '/tags/tagSeries is not supported: series get their tags from the metric names sent to carillon',
      },
    });
  });

  it('finds series by tag expressions', async () => {
    expect((await get(`/tags/findSeries?expr=${q('dc=east')}`)).body).toEqual([
      'disk.free;dc=east;host=a',
      'disk.used;dc=east;host=a',
    ]);
    expect((await get(`/tags/findSeries?expr=${q('name=disk.used')}&expr=${q('host!=a')}`)).body).toEqual([
      'disk.used;dc=west;host=b',
    ]);
    expect(await get('/tags/findSeries')).toMatchObject({ status: 400, body: { message: 'missing parameter "expr"' } });
  });

  it('autocompletes tag names', async () => {
    expect((await get('/tags/autoComplete/tags')).body).toEqual(['dc', 'host', 'name']);
    expect((await get('/tags/autoComplete/tags?tagPrefix=h')).body).toEqual(['host']);
    expect((await get('/tags/autoComplete/tags?limit=2')).body).toEqual(['dc', 'host']);
    expect((await get(`/tags/autoComplete/tags?expr=${q('dc=west')}`)).body).toEqual(['host', 'name']);
    const posted = await postForm('/tags/autoComplete/tags', [
      ['expr', 'dc=east'],
      ['expr', 'name=disk.free'],
      ['tagPrefix', ''],
    ]);
    expect(posted.body).toEqual(['host']);
  });

  it('autocompletes tag values', async () => {
    expect((await get('/tags/autoComplete/values?tag=dc')).body).toEqual(['east', 'west']);
    expect((await get('/tags/autoComplete/values?tag=dc&valuePrefix=w')).body).toEqual(['west']);
    expect((await get(`/tags/autoComplete/values?tag=name&expr=${q('dc=east')}`)).body).toEqual([
      'disk.free',
      'disk.used',
    ]);
    expect((await get(`/tags/autoComplete/values?tag=host&expr=${q('name=disk.used')}&limit=1`)).body).toEqual(['a']);
    expect(await get('/tags/autoComplete/values')).toMatchObject({
      status: 400,
      body: { message: 'missing parameter "tag"' },
    });
    expect(await get('/tags/autoComplete/values?tag=dc&limit=x')).toMatchObject({
      status: 400,
      body: { message: 'parameter "limit" must be a positive integer, got "x"' },
    });
  });
});

describe('service routes', () => {
  it('answers /version and /functions', async () => {
    expect(await get('/version')).toMatchObject({ status: 200, text: '1.1.10' });
    const functions = (await get('/functions')).body as Record<string, { name: string; params: unknown[] }>;
    expect(Object.keys(functions)).toEqual(expect.arrayContaining(['alias', 'aliasSub', 'constantLine', 'sumSeries']));
    expect(functions.alias).toMatchObject({
      name: 'alias',
      function: 'alias(seriesList, newName)',
      params: [
        { name: 'seriesList', type: 'seriesList', required: true },
        { name: 'newName', type: 'string', required: true },
      ],
    });
    expect((await get('/functions/consolidateBy')).body).toMatchObject({ name: 'consolidateBy' });
  });

  it('leaves other routes to the service', async () => {
    expect(await get('/healthz')).toMatchObject({ status: 404, text: 'not a graphite route' });
    expect(await get('/metrics')).toMatchObject({ status: 404 });
  });

  it('refuses other methods', async () => {
    const response = await fetch(`${base}/render`, { method: 'DELETE' });
    expect(response.status).toBe(405);
  });
});
