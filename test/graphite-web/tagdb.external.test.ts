/**
 * carillon tells graphite-web's tag database of the tagged series it writes, as carbon does (`tagdb.url`, posted
 * to `/tags/tagMultiSeries`): graphite-web 1.1.8 reading carillon's whisper directory then finds them by
 * `seriesByTag` with no manual step. graphite-web is started only after carillon has tried and failed to reach
 * it, so the names wait in the queue (failures counted) and are posted once it answers.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { getText, sendTcp, startProgram, type RunningProgram } from '../e2e/programs.js';
import { freePort } from '../support/ports.js';
import { useTempDir } from '../support/temp-dir.js';
import { waitFor } from '../support/wait.js';
import { GraphiteWeb } from './graphite-web.js';

const PROGRAM = 'services/allinone/dist/main.js';

const metric = (text: string, name: string): number => {
  const found = text.split('\n').find((l) => l.startsWith(`${name} `));
  return found === undefined ? 0 : Number(found.slice(found.lastIndexOf(' ') + 1));
};

describe('graphite-web finds carillon tagged series (tagMultiSeries)', () => {
  const dir = useTempDir('tagdb', 'all');
  let carillon: RunningProgram | undefined;
  let graphiteWeb: GraphiteWeb | undefined;

  afterAll(async () => {
    await carillon?.stop();
    await graphiteWeb?.stop();
  });

  it('posts each new tagged series once, retrying while graphite-web is down', async () => {
    const [http, graphite, graphiteWebPort] = [await freePort(), await freePort(), await freePort()];
    const set = (pairs: string[]): string[] => pairs.flatMap((pair) => ['--set', pair]);
    carillon = await startProgram(
      PROGRAM,
      set([
        `whisper.data_dir=${dir()}/whisper`,
        `http.listen=127.0.0.1:${http}`,
        `graphite.tcp_listen=127.0.0.1:${graphite}`,
        'graphite.udp_listen=',
        'statsd.tcp_listen=',
        'statsd.udp_listen=',
        'pickle.tcp_listen=',
        'times=10s:1h',
        'aggregator.grace=1s',
        `tagdb.url=http://127.0.0.1:${graphiteWebPort}`,
        'tagdb.interval=200ms',
        'tagdb.timeout=2s',
      ]),
      'carillon started',
    );
    const now = Math.floor(Date.now() / 1000);
    const window = Math.floor(now / 10) * 10;
    await sendTcp(
      graphite,
      [
        `disk.used;host=a;dc=x 5 ${now}`,
        `disk.used;host=b;dc=x 7 ${now}`,
        `disk.used;host=c;dc=y 9 ${now}`,
        `disk.plain 1 ${now}`,
      ].join('\n') + '\n',
    );
    const metrics = (): Promise<string> => getText(`http://127.0.0.1:${http}/metrics`);
    await waitFor(
      'a tagMultiSeries post failed while graphite-web is down',
      async () => {
        return metric(await metrics(), 'carillon_tagdb_requests_failed_total') >= 1;
      },
      30_000,
    );
    expect(metric(await metrics(), 'carillon_tagdb_queue_series')).toBe(3);

    graphiteWeb = await GraphiteWeb.start(`${dir()}/whisper`, `${dir()}/graphite-web`, { httpPort: graphiteWebPort });
    await waitFor(
      'the three tagged series posted',
      async () => {
        return metric(await metrics(), 'carillon_tagdb_series_tagged_total') === 3;
      },
      30_000,
    );
    const text = await metrics();
    expect(metric(text, 'carillon_tagdb_queue_series')).toBe(0);
    expect(metric(text, 'carillon_tagdb_series_dropped_total')).toBe(0);

    const found = await graphiteWeb.get('/tags/findSeries?expr=name=disk.used&expr=dc=x');
    expect(found.status, found.body.toString()).toBe(200);
    expect(JSON.parse(found.body.toString())).toEqual(['disk.used;dc=x;host=a', 'disk.used;dc=x;host=b']);

    const reference = graphiteWeb;
    const rendered = async (): Promise<Record<string, [number | null, number][]>> => {
      const target = encodeURIComponent("seriesByTag('name=disk.used')");
      const answer = await reference.get(`/render?format=json&target=${target}&from=${window - 1}&until=${window + 9}`);
      expect(answer.status, answer.body.toString()).toBe(200);
      const series = JSON.parse(answer.body.toString()) as { target: string; datapoints: [number | null, number][] }[];
      return Object.fromEntries(series.map((s) => [s.target, s.datapoints.filter(([v]) => v !== null)]));
    };
    // The whisper writer and the tag post hear the same flush; the files may land a moment after the post.
    await waitFor('graphite-web renders the three series', async () => Object.keys(await rendered()).length === 3);
    expect(await rendered()).toEqual({
      'disk.used;dc=x;host=a': [[5, window]],
      'disk.used;dc=x;host=b': [[7, window]],
      'disk.used;dc=y;host=c': [[9, window]],
    });
  }, 90_000);
});
