/**
 * The differential test: graphite-web 1.1.8 and carillon serve the same whisper files, get the same /render
 * requests, and every answer is compared (names, tags, timestamps, values; see compare.ts for the float rule).
 * Each request carries graphite-web's `now` parameter, so both read the files at the same fixed time.
 * Deliberate differences are listed in docs/GRAPHITE.md; none is hidden here.
 */
import { describe, expect, it } from 'vitest';
import { renderDifferences, type JsonSeries } from './compare.js';
import { renderPath, useServers } from './servers.js';
import { OPTIONS, RANGES, TARGETS } from './targets.js';

const servers = useServers();

/**
 * Compares one request. `mustAnswer`: graphite-web has to answer 200 (so a case cannot pass by both refusing);
 * otherwise a graphite-web refusal (400, or a 500 from a Python exception) must be a 4xx refusal from carillon.
 */
async function compareRender(params: Record<string, string | string[]>, mustAnswer: boolean): Promise<void> {
  const path = renderPath(params);
  const { graphiteWeb, carillon } = servers();
  const [expected, actual] = await Promise.all([graphiteWeb.get(path), carillon.get(path)]);
  const context = `${decodeURIComponent(path)}\n  graphite-web ${expected.status}: ${expected.body.toString().slice(0, 300)}`;
  if (mustAnswer) expect(expected.status, context).toBe(200);
  if (expected.status !== 200) {
    // graphite-web refuses it: carillon must refuse it too, as a client error
    expect(actual.status, context).toBeGreaterThanOrEqual(400);
    expect(actual.status, context).toBeLessThan(500);
    return;
  }
  expect(actual.status, `${context}\n  carillon: ${actual.body.toString().slice(0, 300)}`).toBe(200);
  const differences = renderDifferences(
    JSON.parse(expected.body.toString('utf8')) as JsonSeries[],
    JSON.parse(actual.body.toString('utf8')) as JsonSeries[],
  );
  expect(differences, context).toEqual([]);
}

describe('render: carillon against graphite-web 1.1.8 over the same whisper files', () => {
  describe.each(RANGES)('from=$from until=$until', (range) => {
    it.each(TARGETS)('%s', async (target) => {
      await compareRender({ target, ...range }, true);
    });
  });

  it.each(OPTIONS)('$name', async ({ params, refused }) => {
    await compareRender(params, refused !== true);
  });

  it('compared renders split over the idle workers, by targets and by series', () => {
    // one request at a time, so both workers are idle for each: every JSON render that can be split was
    const counts = servers().carillon.metrics();
    const split = (by: string): number =>
      Number(new RegExp(`query_render_split_total\\{by="${by}"\\} (\\d+)`).exec(counts)?.[1] ?? 0);
    // the JSON cases of several targets in OPTIONS but the stacked one; most of TARGETS read series by series
    expect(split('targets')).toBe(3);
    expect(split('series')).toBeGreaterThan(100);
  });
});

describe('randomWalk: random values, so names, tags and timestamps are compared', () => {
  it.each(["randomWalk('walk')", "randomWalkFunction('walk', 300)"])('%s', async (target) => {
    const path = renderPath({ target, from: '-2h' });
    const { graphiteWeb, carillon } = servers();
    const [expected, actual] = await Promise.all([graphiteWeb.get(path), carillon.get(path)]);
    expect(expected.status).toBe(200);
    expect(actual.status).toBe(200);
    const shape = (body: Buffer) =>
      (JSON.parse(body.toString()) as JsonSeries[]).map((s) => ({
        target: s.target,
        tags: s.tags,
        times: s.datapoints.map(([, t]) => t),
        first: s.datapoints[0]?.[0],
      }));
    expect(shape(actual.body)).toEqual(shape(expected.body));
  });
});
