/**
 * graphite-web 1.1.8 with CLUSTER_SERVERS pointing at carillon (and no whisper files of its own) reads carillon's
 * series through its remote finder (`/metrics/find?format=pickle&local=1`, `/render?format=pickle&local=1`): what
 * it answers equals what a graphite-web reading the same whisper files itself answers.
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
  federated = await GraphiteWeb.start(join(dir, 'whisper'), join(dir, 'graphite-web'), [
    servers().carillon.base.replace('http://', ''),
  ]);
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
];
const RANGES: Record<string, string>[] = [
  { from: '-5min' },
  { from: '-2h', until: '-1h', maxDataPoints: '50' },
  { from: '-1d', until: '-20h' },
];

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
});
