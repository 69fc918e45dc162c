/**
 * The all-in-one program with chunks in Cassandra 5.0, end to end:
 * - the same Graphite traffic sent to a program storing flat rows and to one storing chunks reads back identically
 *   through /render at both resolutions, while chunks are open in the write pool workers and after a restart;
 * - killed with SIGKILL mid-chunk, a program storing chunks loses at most the persist interval, and after the
 *   restart the series continues in the same chunk row (read back with CQL).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type cassandra from 'cassandra-driver';
import { seriesId } from '@carillon/core';
import { decodeChunk } from '@carillon/codec';
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
import { cassandraProgramArgs, PROGRAM } from '../cassandra/allinone.js';
import { cassandra as cassandraServer, uniqueKeyspace, type CassandraAddress } from '../harness/servers.js';
import { connectCql } from '../support/cassandra.js';

interface Node {
  keyspace: string;
  http: number;
  graphite: number;
  args: string[];
  program?: RunningProgram;
}

async function makeNode(server: CassandraAddress, keyspace: string, settings: string[]): Promise<Node> {
  const [http, graphite, statsd] = [await freePort(), await freePort(), await freePort()];
  const args = cassandraProgramArgs(
    { contactPoints: server.contactPoints.join(','), localDataCenter: server.localDataCenter, keyspace },
    { http, graphite, statsd },
    settings,
  );
  return { keyspace, http, graphite, args };
}

const start = async (node: Node): Promise<void> => {
  node.program = await startProgram(PROGRAM, node.args, 'carillon started', 60_000);
};
const render = (node: Node, query: string): Promise<RenderedSeries[]> =>
  getJson<RenderedSeries[]>(`http://127.0.0.1:${node.http}/render?format=json&${query}`);
const metrics = (node: Node): Promise<string> => getText(`http://127.0.0.1:${node.http}/metrics`);

describe('all-in-one with chunks in Cassandra', () => {
  let server: CassandraAddress;
  let cql: cassandra.Client;
  const nodes: Node[] = [];

  beforeAll(async () => {
    server = await cassandraServer();
    cql = await connectCql(server);
  });

  afterAll(async () => {
    for (const node of nodes) await node.program?.stop();
    await cql?.shutdown();
  });

  it('reads the same traffic back identically from flat rows and from chunks', async () => {
    // 2 s windows kept 2 min (older ranges read the 10 s resolution); 20 s and 60 s chunks, so some close.
    const times = 'times=2s:2m,10s:1d';
    const flat = await makeNode(server, uniqueKeyspace('aflat'), [times, 'cassandra.schema=flat']);
    const blob = await makeNode(server, uniqueKeyspace('ablob'), [
      times,
      'cassandra.schema=blob',
      'cassandra.chunk_spans=20s,60s',
      'cassandra.chunk_persist_interval=1h',
    ]);
    nodes.push(flat, blob);
    await Promise.all([start(flat), start(blob)]);

    const names = ['ab.web1.cpu', 'ab.web2.requests.count', 'ab.web1.latency.max', 'ab.tagged;host=a;dc=eu'];
    const first = Math.floor(Date.now() / 1000) + 1;
    let last = first;
    // 25 s of traffic, several points per window, the same lines (explicit timestamps) to both programs.
    for (let i = 0; i < 50; i++) {
      const t = Math.floor(Date.now() / 1000);
      last = t;
      const lines = names.map((name, s) => `${name} ${((i * 37 + s * 11) % 100) - 20.5} ${t}`).join('\n') + '\n';
      await Promise.all([sendTcp(flat.graphite, lines), sendTcp(blob.graphite, lines)]);
      await sleep(500);
    }
    // Every 10 s window of the traffic flushed (end + grace), so none is read from the aggregators' pending ones.
    await sleep((Math.ceil((last + 1) / 10) * 10 + 2 - Date.now() / 1000) * 1000 + 1500);

    const queries = [
      ...names.map((name) => `target=${encodeURIComponent(name)}`),
      'target=ab.*.cpu',
      `target=${encodeURIComponent("seriesByTag('dc=eu')")}`,
    ];
    const compare = async (): Promise<void> => {
      const now = Math.floor(Date.now() / 1000);
      for (const target of queries) {
        for (const range of [`from=${first - 4}&until=${last + 4}`, `from=${now - 600}&until=${last + 10}`]) {
          const fromFlat = await render(flat, `${target}&${range}`);
          const fromBlob = await render(blob, `${target}&${range}`);
          expect(fromBlob).toEqual(fromFlat);
          expect(fromFlat.flatMap((s) => s.datapoints).filter(([v]) => v !== null).length).toBeGreaterThan(2);
        }
      }
    };
    await compare();
    const blobMetrics = await metrics(blob);
    // Some 20 s chunks closed and were written; the others were read from the workers' memory.
    expect(metricValue(blobMetrics, 'carillon_blob_chunks_closed_total')).toBeGreaterThan(0);
    expect(metricValue(blobMetrics, 'carillon_blob_chunks_persisted_total')).toBe(0);
    expect(metricValue(blobMetrics, 'carillon_blob_open_chunks')).toBeGreaterThan(0);

    // A clean stop writes the open chunks; after the restart everything comes from Cassandra.
    await Promise.all([flat.program!.stop(), blob.program!.stop()]);
    await Promise.all([start(flat), start(blob)]);
    await compare();
    const rows = await cql.execute(`SELECT chunk_start FROM ${blob.keyspace}.chunk_2s`);
    expect(rows.rowLength).toBeGreaterThan(names.length);
  }, 120_000);

  it('loses at most the persist interval when killed mid-chunk, and continues the same chunk after a restart', async () => {
    const persist = 3;
    const node = await makeNode(server, uniqueKeyspace('akill'), [
      'times=2s:1h,10s:1d',
      'cassandra.schema=blob',
      'cassandra.chunk_spans=1h,1h',
      `cassandra.chunk_persist_interval=${persist}s`,
    ]);
    nodes.push(node);
    await start(node);
    const name = 'kill.load';
    const sent = new Map<number, number>(); // 2 s window → values sent
    const send = async (seconds: number): Promise<void> => {
      const until = Date.now() + seconds * 1000;
      while (Date.now() < until) {
        const t = Math.floor(Date.now() / 1000);
        await sendTcp(node.graphite, `${name} ${t % 1000} ${t}\n`);
        const window = Math.floor(t / 2) * 2;
        sent.set(window, (sent.get(window) ?? 0) + 1);
        await sleep(250);
      }
    };
    await send(14);
    await waitFor(
      'two persists',
      async () => metricValue(await metrics(node), 'carillon_blob_chunks_persisted_total') >= 2,
      20_000,
    );
    const killedAt = Date.now() / 1000;
    node.program!.child.kill('SIGKILL');
    await new Promise((resolve) => node.program!.child.once('exit', resolve));
    const beforeKill = [...sent.keys()].sort((a, b) => a - b);

    await start(node);
    const restartedAt = Math.floor(Date.now() / 1000);
    await send(6);
    await node.program!.stop();

    const rows = await cql.execute(
      `SELECT chunk_start, data FROM ${node.keyspace}.chunk_2s WHERE id = ?`,
      [seriesId(name, [])],
      { prepare: true },
    );
    const points = rows.rows.flatMap((row) => decodeChunk(row.get('data') as Buffer));
    const stored = new Map(points.map((p) => [p.time, p]));
    // A window is flushed 1 s (grace) after it ends and persisted within the interval: older ones must survive.
    const mustSurvive = beforeKill.filter((w) => w + 2 + 1 + persist + 1 <= killedAt);
    expect(mustSurvive.length).toBeGreaterThan(3);
    for (const window of mustSurvive) expect(stored.get(window)?.count, `window ${window}`).toBe(sent.get(window));
    // After the restart: appended to the stored chunk (one row per hour span), every window complete.
    const after = [...sent.keys()].filter((w) => w > restartedAt);
    expect(after.length).toBeGreaterThan(1);
    for (const window of after) expect(stored.get(window)?.count, `window ${window}`).toBe(sent.get(window));
    const spans = new Set(points.map((p) => Math.floor(p.time / 3600)));
    expect(rows.rowLength).toBe(spans.size);
    // Nothing but the interval before the kill is missing, and the restart appended after what survived.
    const lost = beforeKill.filter((w) => !stored.has(w));
    for (const window of lost) expect(window).toBeGreaterThan(killedAt - 2 - 1 - persist - 1);
  }, 120_000);
});
