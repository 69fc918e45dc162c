/**
 * The all-in-one program on `store = "cassandra"`, end to end against real Cassandra 5.0: Graphite lines in, exact
 * values back from /render at both resolutions (pending windows, then flushed rows), globs expanded by /metrics/find
 * from the segment/path index after a restart (so not from memory), rows and TTLs read directly with CQL; then
 * Cassandra taken away under traffic (every connection reset, new ones refused, through a proxy) and brought back:
 * the program keeps running, writes resume, and every point sent is in Cassandra.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type cassandra from 'cassandra-driver';
import { seriesId } from '@carillon/core';
import { freePort } from '../support/ports.js';
import { sleep, waitFor } from '../support/wait.js';
import {
  getJson,
  getText,
  metricValue,
  type RenderedSeries,
  type RunningProgram,
  sendTcp,
  startProgram,
} from '../e2e/programs.js';
import { cassandra as cassandraServer, uniqueKeyspace } from '../harness/servers.js';
import { connectCql } from '../support/cassandra.js';
import { cassandraProgramArgs, PROGRAM } from './allinone.js';
import { TcpProxy } from './tcp-proxy.js';

describe('all-in-one on Cassandra', () => {
  let proxy: TcpProxy;
  let cql: cassandra.Client;
  let program: RunningProgram | undefined;
  let args: string[];
  let ports: { http: number; graphite: number };
  const keyspace = uniqueKeyspace('allinone');
  const http = (path: string): string => `http://127.0.0.1:${ports.http}${path}`;
  const render = (query: string): Promise<RenderedSeries[]> =>
    getJson<RenderedSeries[]>(http(`/render?format=json&${query}`));
  const values = (series: RenderedSeries | undefined): [number | null, number][] =>
    (series?.datapoints ?? []).filter(([value]) => value !== null);
  const start = async (): Promise<void> => {
    program = await startProgram(PROGRAM, args, 'carillon started', 60_000);
  };

  beforeAll(async () => {
    const server = await cassandraServer();
    const [host, port] = server.contactPoints[0]!.split(':');
    proxy = await TcpProxy.start(host!, Number(port));
    ports = { http: await freePort(), graphite: await freePort() };
    const statsd = await freePort();
    args = cassandraProgramArgs(
      { contactPoints: `127.0.0.1:${proxy.port}`, localDataCenter: server.localDataCenter, keyspace },
      { ...ports, statsd },
      [
        ...['cassandra.connect_timeout=1s', 'cassandra.read_timeout=1s', 'cassandra.retry_max_delay=300ms'],
        ...['cassandra.retries=10000', 'cassandra.queue_high_water_points=2'],
        ...[`graphite.udp_listen=127.0.0.1:${ports.graphite}`, 'times=2s:1h,10s:1d'],
      ],
    );
    cql = await connectCql(server);
    await start();
  });

  afterAll(async () => {
    await program?.stop();
    await cql?.shutdown();
    await proxy?.close();
  });

  const rowsOf = async (table: string, name: string): Promise<cassandra.types.Row[]> =>
    (
      await cql.execute(
        `SELECT time, min, max, sum, first, last, count, TTL(sum) AS ttl FROM ${keyspace}.${table} WHERE id = ?`,
        [seriesId(name, [])],
        { prepare: true },
      )
    ).rows;

  it('writes exact windows at each resolution, reads them back, and finds paths through the index', async () => {
    // A 10 s aligned time 3-13 s ahead: its windows are open when the points arrive.
    const base = Math.floor((Date.now() / 1000 + 13) / 10) * 10;
    await sendTcp(
      ports.graphite,
      [
        `e2e.servers.web1.cpu 1 ${base}`,
        `e2e.servers.web1.cpu 5 ${base + 1}`,
        `e2e.servers.web1.cpu 9 ${base + 2}`,
        `e2e.servers.web2.cpu 4 ${base + 3}`,
        `e2e.servers.web2.requests 1 ${base}`,
        `e2e.servers.web2.requests 2 ${base + 1}`,
        `e2e.servers.web2.requests 4 ${base + 3}`,
        `e2e.tagged;host=a;dc=eu 4 ${base}`,
        '',
      ].join('\n'),
    );
    await sleep(300);
    // Before any flush: pending windows.
    // graphite-web clips ranges to now and the points are ahead of the clock: read as a client a moment later would
    const [early] = await render(`target=e2e.servers.web1.cpu&from=${base - 1}&until=${base + 3}&now=${base + 4}`);
    expect(values(early)).toEqual([
      [3, base],
      [9, base + 2],
    ]);

    // After the 10 s window closes (end + 1 s grace) both resolutions are in Cassandra.
    await waitFor(
      'rows in flat_10s',
      async () => (await rowsOf('flat_10s', 'e2e.servers.web1.cpu')).length > 0,
      40_000,
    );
    await waitFor('all rows', async () => (await rowsOf('flat_2s', 'e2e.servers.web2.requests')).length === 2, 10_000);
    const statsOf = (r: cassandra.types.Row): unknown[] => [
      r.get('min'),
      r.get('max'),
      r.get('sum'),
      r.get('first'),
      r.get('last'),
      Number(r.get('count')),
    ];
    const fine = await rowsOf('flat_2s', 'e2e.servers.web1.cpu');
    expect(fine.map((r) => [(r.get('time') as Date).getTime() / 1000, ...statsOf(r)])).toEqual([
      [base, 1, 5, 6, 1, 5, 2],
      [base + 2, 9, 9, 9, 9, 9, 1],
    ]);
    const coarse = await rowsOf('flat_10s', 'e2e.servers.web1.cpu');
    expect(coarse.map(statsOf)).toEqual([[1, 9, 15, 1, 9, 3]]);
    for (const r of fine) expect(r.get('ttl')).toBeGreaterThan(3500);
    for (const r of coarse) expect(r.get('ttl')).toBeGreaterThan(86_000);

    // Restart: the in-memory index is empty, so find and render answer from Cassandra alone.
    await program!.stop();
    await start();
    const expanded = await getJson<{ results: string[] }>(http('/metrics/expand?query=e2e.servers.*.cpu'));
    expect(expanded.results).toEqual(['e2e.servers.web1.cpu', 'e2e.servers.web2.cpu']);
    const children = await getJson<{ id: string; leaf: number; expandable: number }[]>(
      http('/metrics/find?query=e2e.servers.web2.*'),
    );
    expect(children.map((n) => [n.id, n.leaf])).toEqual([
      ['e2e.servers.web2.cpu', 1],
      ['e2e.servers.web2.requests', 1],
    ]);
    const level = await getJson<{ id: string; leaf: number; expandable: number }[]>(http('/metrics/find?query=e2e.*'));
    expect(level.map((n) => [n.id, n.leaf, n.expandable])).toEqual([['e2e.servers', 0, 1]]);
    const [web1, requests] = await render(
      `target=e2e.servers.web1.cpu&target=e2e.servers.web2.requests&from=${base - 1}&until=${base + 3}`,
    );
    expect(values(web1)).toEqual([
      [3, base],
      [9, base + 2],
    ]);
    expect(values(requests)).toEqual([
      [3, base],
      [4, base + 2],
    ]);
    // A range older than the 2 s retention reads the 10 s resolution.
    const now = Math.floor(Date.now() / 1000);
    const [glob] = await render(`target=e2e.servers.*.cpu&from=${now - 7200}&until=${base + 9}`);
    expect(values(glob)).toEqual([[5, base]]);
    const [tagged] = await render(
      `target=${encodeURIComponent("seriesByTag('dc=eu')")}&from=${base - 1}&until=${base + 1}`,
    );
    expect(tagged?.target).toBe('e2e.tagged;dc=eu;host=a');
    expect(values(tagged)).toEqual([[4, base]]);
  });

  it('survives Cassandra going away under traffic: writes resume and nothing within the limits is lost', async () => {
    const sent = new Map<number, number>(); // 2 s window → points sent
    let sending = true;
    const sender = (async () => {
      let i = 0;
      while (sending) {
        const t = Math.floor(Date.now() / 1000);
        await sendTcp(ports.graphite, `e2e.outage.load ${i++} ${t}\n`);
        const window = Math.floor(t / 2) * 2;
        sent.set(window, (sent.get(window) ?? 0) + 1);
        await sleep(100);
      }
    })();
    await sleep(3_000);
    proxy.cut();
    await sleep(8_000);
    expect(program!.child.exitCode).toBeNull();
    const during = await getText(http('/metrics'));
    proxy.restore();
    await sleep(3_000);
    sending = false;
    await sender;

    const lastWindow = Math.max(...sent.keys());
    const expected = [...sent.entries()].sort((a, b) => a[0] - b[0]);
    await waitFor(
      'every window in Cassandra',
      async () =>
        (await rowsOf('flat_2s', 'e2e.outage.load')).some(
          (r) => (r.get('time') as Date).getTime() / 1000 === lastWindow,
        ),
      30_000,
    );
    const rows = await rowsOf('flat_2s', 'e2e.outage.load');
    expect(rows.map((r) => [(r.get('time') as Date).getTime() / 1000, Number(r.get('count'))])).toEqual(expected);

    const metrics = await getText(http('/metrics'));
    expect(metricValue(during, 'carillon_aggregator_flushes_skipped_total')).toBeGreaterThan(0);
    expect(metricValue(metrics, 'carillon_aggregator_points_dropped_total')).toBe(0);
    expect(metricValue(metrics, 'carillon_aggregator_late_points_total')).toBe(0);
    expect(metrics).toContain('carillon_write_pool_rows_failed_total{writer="cassandra"} 0');
    expect(program!.child.exitCode).toBeNull();
    expect((await getText(http('/healthz'))).length).toBeGreaterThan(0);
  });
});
