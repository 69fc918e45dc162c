/**
 * graphite-web 1.1.8 with CLUSTER_SERVERS pointing at carillon (and no whisper files of its own) reads carillon's
 * series through its remote finder (`/metrics/find?format=pickle&local=1`, `/render?format=pickle&local=1`): what
 * it answers equals what a graphite-web reading the same whisper files itself answers. Its tag database is carillon
 * too (graphite-web's HttpTagDB, TAGDB_HTTP_URL), so tag queries are federated: seriesByTag, /tags and autocomplete.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderDifferences, type JsonSeries } from './compare.js';
import { GraphiteWeb } from './graphite-web.js';
import { renderPath, useServers } from './servers.js';

const servers = useServers();
const dir = mkdtempSync(join(tmpdir(), 'carillon-federation-'));
let federated: GraphiteWeb;

beforeAll(async () => {
  mkdirSync(join(dir, 'whisper'));
  // Its tag database is carillon too (graphite-web's HttpTagDB): seriesByTag and /tags are asked of carillon.
  federated = await GraphiteWeb.start(join(dir, 'whisper'), join(dir, 'graphite-web'), {
    clusterServers: [servers().carillon.base.replace('http://', '')],
    tagdbUrl: servers().carillon.base,
  });
}, 120_000);

afterAll(async () => {
  await federated?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const TARGETS = [
  'servers.web01.cpu',
  'servers.*.cpu',
  'counters.requests.*',
  'sumSeries(servers.*.mem)',
  "aliasSub(negative.*, '^negative\\.', 'n ')",
  'servers.web03.cpu',
  "seriesByTag('name=disk.used')",
  "seriesByTag('name=disk.used', 'dc=east')",
  "sumSeries(seriesByTag('name=disk.used'))",
  "aliasByTags(seriesByTag('name=disk.used'), 'host', 'name')",
  "groupByTags(seriesByTag('name=disk.used'), 'sum', 'dc')",
];
const RANGES: Record<string, string>[] = [
  { from: '-5min' },
  { from: '-2h', until: '-1h', maxDataPoints: '50' },
  { from: '-1d', until: '-20h' },
];

/** `value` with every object's `id` member left out. */
function withoutIds(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutIds);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(Object.entries(value).flatMap(([k, v]) => (k === 'id' ? [] : [[k, withoutIds(v)]])));
}

describe('graphite-web federated to carillon (CLUSTER_SERVERS)', () => {
  describe.each(RANGES)('from=$from until=$until', (range) => {
    it.each(TARGETS)('%s', async (target) => {
      const path = renderPath({ target, ...range });
      const [direct, through] = await Promise.all([servers().graphiteWeb.get(path), federated.get(path)]);
      expect(direct.status, direct.body.toString()).toBe(200);
      expect(through.status, through.body.toString()).toBe(200);
      const expected = JSON.parse(direct.body.toString()) as JsonSeries[];
      expect(expected.length).toBeGreaterThan(0);
      expect(renderDifferences(expected, JSON.parse(through.body.toString()) as JsonSeries[])).toEqual([]);
    });
  });

  it('finds carillon series through the remote finder', async () => {
    const answer = await federated.get('/metrics/find?query=servers.*');
    expect(answer.status, answer.body.toString()).toBe(200);
    const nodes = JSON.parse(answer.body.toString()) as { text: string }[];
    expect(nodes.map((n) => n.text)).toEqual(['db01', 'web01', 'web02', 'web03']);
  });

  for (const path of ['/tags', '/tags/dc', '/tags/autoComplete/tags?tagPrefix=d', '/tags/autoComplete/values?tag=dc'])
    it(`answers ${path} from carillon's tags as graphite-web over the files does`, async () => {
      const [direct, through] = await Promise.all([servers().graphiteWeb.get(path), federated.get(path)]);
      expect(direct.status, direct.body.toString()).toBe(200);
      expect(through.status, through.body.toString()).toBe(200);
      // graphite-web's local tag database adds its SQL row ids; carillon has no rows (docs/GRAPHITE.md).
      expect(JSON.parse(through.body.toString())).toEqual(withoutIds(JSON.parse(direct.body.toString())));
    });
});
