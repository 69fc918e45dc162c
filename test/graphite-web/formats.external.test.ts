/**
 * The other render formats against graphite-web 1.1.8: raw and csv byte for byte, pickle and msgpack as Python
 * reads them (ints and floats told apart, floats within 1e-9), jsonp's wrapper, and the content types.
 */
import { describe, expect, it } from 'vitest';
import { renderDifferences, structureDifferences, type JsonSeries } from './compare.js';
import { renderPath, useServers } from './servers.js';

const servers = useServers();

const CASES: Record<string, string | string[]>[] = [
  { target: 'servers.*.cpu', from: '-5min' },
  { target: ['negative.*', 'sparse.events'], from: '-1h', until: '-50min' },
  { target: "seriesByTag('name=disk.used')", from: '-3min' },
  { target: 'servers.web01.mem', from: '-8h', until: '-7h' },
  { target: "consolidateBy(servers.web01.cpu, 'max')", from: '-2min' },
];

function label(params: Record<string, string | string[]>): string {
  return Object.entries(params)
    .flatMap(([k, v]) => (Array.isArray(v) ? v : [v]).map((x) => `${k}=${x}`))
    .join('&');
}

async function both(params: Record<string, string | string[]>) {
  const path = renderPath(params);
  const { graphiteWeb, carillon } = servers();
  const [expected, actual] = await Promise.all([graphiteWeb.get(path), carillon.get(path)]);
  expect(expected.status, expected.body.toString()).toBe(200);
  expect(actual.status, actual.body.toString()).toBe(200);
  return { expected, actual };
}

const baseType = (type: string) => type.split(';')[0];

describe('render formats: carillon against graphite-web 1.1.8', () => {
  describe.each(['raw', 'csv'])('format=%s', (format) => {
    it.each(CASES.map((c) => [label(c), c] as const))('%s', async (_label, params) => {
      const { expected, actual } = await both({ ...params, format });
      expect(baseType(actual.type)).toBe(baseType(expected.type));
      expect(actual.body.toString()).toBe(expected.body.toString());
    });
  });

  describe.each(['pickle', 'msgpack'] as const)('format=%s', (format) => {
    it.each(CASES.map((c) => [label(c), c] as const))('%s', async (_label, params) => {
      const { expected, actual } = await both({ ...params, format });
      expect(baseType(actual.type)).toBe(baseType(expected.type));
      const { graphiteWeb } = servers();
      const [e, a] = await Promise.all([
        graphiteWeb.decode(format, expected.body),
        graphiteWeb.decode(format, actual.body),
      ]);
      expect(structureDifferences(e, a)).toEqual([]);
    });
  });

  it.each(CASES.map((c) => [label(c), c] as const))('jsonp %s', async (_label, params) => {
    const { expected, actual } = await both({ ...params, jsonp: 'cb_1' });
    expect(baseType(actual.type)).toBe('text/javascript');
    expect(baseType(expected.type)).toBe('text/javascript');
    const unwrap = (text: string) => {
      expect(text.startsWith('cb_1(') && text.endsWith(')')).toBe(true);
      return JSON.parse(text.slice(5, -1)) as JsonSeries[];
    };
    expect(renderDifferences(unwrap(expected.body.toString()), unwrap(actual.body.toString()))).toEqual([]);
  });

  it('the pickle parameter and rawData select their formats as graphite-web does', async () => {
    for (const extra of ['pickle', 'rawData']) {
      const query = new URLSearchParams({
        target: 'servers.web01.cpu',
        from: '-2min',
        now: '1767225605',
        [extra]: '1',
      });
      const { graphiteWeb, carillon } = servers();
      const [expected, actual] = await Promise.all([
        graphiteWeb.get(`/render?${query}`),
        carillon.get(`/render?${query}`),
      ]);
      expect(baseType(actual.type)).toBe(baseType(expected.type));
    }
  });
});

describe('/metrics/find for remote finders: carillon against graphite-web 1.1.8', () => {
  type Node = { path: string; is_leaf: boolean; intervals?: { int?: number; float?: number }[][] };
  it.each(['pickle', 'msgpack'] as const)('format=%s', async (format) => {
    const { graphiteWeb, carillon } = servers();
    for (const query of ['servers.*', 'servers.*.cpu', 'counters.requests.web0{1,2}', '*']) {
      const path = `/metrics/find?${new URLSearchParams({ query, format, local: '1' })}`;
      const [expected, actual] = await Promise.all([graphiteWeb.get(path), carillon.get(path)]);
      expect(baseType(actual.type)).toBe(baseType(expected.type));
      const [e, a] = (await Promise.all([
        graphiteWeb.decode(format, expected.body),
        graphiteWeb.decode(format, actual.body),
      ])) as [Node[], Node[]];
      // graphite-web's whisper finder walks _tagged/ as a directory; carillon keeps tagged series out of the tree
      const shape = (nodes: Node[]) =>
        nodes
          .filter((n) => !n.path.startsWith('_tagged'))
          .map((n) => [n.path, n.is_leaf])
          .sort();
      expect(shape(a), query).toEqual(shape(e));
      // intervals: graphite-web pickles its IntervalSet (from the file's mtime), carillon sends [start, end] lists
      // over the retention, which the remote finder turns into an IntervalSet
      for (const node of a) expect(node.intervals?.length ?? 0, node.path).toBe(node.is_leaf ? 1 : 0);
    }
  });
});
