/**
 * A cluster configured as docs/SECURITY.md says, as real processes: an accumulator requiring the cluster token
 * and relay client certificates (mTLS) on gRPC, HTTPS with a bearer token on both programs, Graphite over TLS on
 * the relay. Lines sent through it are stored exactly as the oracle computes them; a relay with a wrong token or
 * without a client certificate delivers nothing and is counted on both sides; HTTP without the token is refused
 * and counted; no token or key appears in any program's log.
 */
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { connect } from 'node:tls';
import { describe, expect, it } from 'vitest';
import { nowSeconds } from '@carillon/core';
import { makeCa } from '../support/certs.js';
import { freePort } from '../support/ports.js';
import { waitFor } from '../support/wait.js';
import { keyOf, Oracle, pointOf, startAccumulator, startRelay, writtenBy, type ClusterOptions } from './cluster.js';
import { useClusterWorkspace } from './workspace.js';

const CLUSTER_TOKEN = 'cluster-token-4f1c9a';
const HTTP_TOKEN = 'http-token-77d0b2';

interface Answer {
  status: number;
  body: string;
}

function https(
  port: number,
  path: string,
  ca: string,
  options: { method?: string; token?: string; body?: string } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: options.method ?? 'GET',
        ca: readFileSync(ca),
        servername: 'localhost',
        timeout: 5000,
        headers: options.token ? { authorization: `Bearer ${options.token}` } : {},
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${path} timed out`)));
    req.on('error', reject);
    req.end(options.body);
  });
}

async function metric(port: number, ca: string, name: string, labels = ''): Promise<number> {
  const { body } = await https(port, '/metrics', ca);
  let total = 0;
  for (const line of body.split('\n'))
    if (line.startsWith(`carillon_${name}`) && (labels === '' || line.includes(labels)))
      total += Number(line.slice(line.lastIndexOf(' ') + 1));
  return total;
}

function sendTls(port: number, ca: string, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, ca: readFileSync(ca), servername: 'localhost' }, () =>
      socket.end(text),
    );
    socket.setTimeout(5000, () => socket.destroy(new Error('TLS send timed out')));
    socket.on('close', () => resolve());
    socket.on('error', reject);
  });
}

describe('a cluster with tokens, mTLS and TLS on every port', () => {
  const { root, running, contend } = useClusterWorkspace('secure');

  it('stores what a trusted relay sends, refuses the rest, counts every refusal, and logs no secret', async () => {
    const ca = makeCa(root, 'cluster-ca');
    const acc = ca.issue('accumulator');
    const relayCert = ca.issue('relay');
    const web = ca.issue('web');
    const grpcPort = await freePort();
    const cluster: ClusterOptions = {
      redisUrl: '',
      prefix: 'carillon',
      root,
      accumulators: [`sec-a=127.0.0.1:${grpcPort}`],
    };
    const accumulator = await startAccumulator(
      cluster,
      'sec-a',
      { grpc: grpcPort, http: await freePort() },
      {
        'cluster.token': CLUSTER_TOKEN,
        'cluster.tls': 'true',
        'cluster.tls_cert': acc.cert,
        'cluster.tls_key': acc.key,
        'cluster.tls_ca': ca.cert,
        'cluster.tls_client_auth': 'require',
        'http.token': HTTP_TOKEN,
        'http.tls_cert': web.cert,
        'http.tls_key': web.key,
      },
    );
    running.push(accumulator);
    const relaySettings = {
      'cluster.tls': 'true',
      'cluster.tls_ca': ca.cert,
      'cluster.tls_server_name': 'localhost',
      'http.tls_cert': web.cert,
      'http.tls_key': web.key,
      'http.token': HTTP_TOKEN,
      'graphite.tls_cert': web.cert,
      'graphite.tls_key': web.key,
    };
    const relay = await startRelay(cluster, {
      ...relaySettings,
      'cluster.token': CLUSTER_TOKEN,
      'cluster.tls_cert': relayCert.cert,
      'cluster.tls_key': relayCert.key,
    });
    running.push(relay);
    // Two relays the accumulator must not trust: the wrong token, and no client certificate.
    const wrongToken = await startRelay(cluster, {
      ...relaySettings,
      'cluster.token': 'not-the-cluster-token',
      'cluster.tls_cert': relayCert.cert,
      'cluster.tls_key': relayCert.key,
    });
    running.push(wrongToken);
    const noCert = await startRelay(cluster, { ...relaySettings, 'cluster.token': CLUSTER_TOKEN });
    running.push(noCert);

    // The delivery is compared to the oracle under CPU contention.
    const contention = contend(2, 40_000);
    const now = nowSeconds();
    const oracle = new Oracle();
    const lines: string[] = [];
    for (let i = 0; i < 40; i++) {
      lines.push(`secure.m${i} ${i + 0.5} ${now}`);
      oracle.add(`secure.m${i}`, now, i + 0.5);
    }
    await sendTls(relay.graphitePort, ca.cert, lines.map((l) => `${l}\n`).join(''));
    await sendTls(wrongToken.graphitePort, ca.cert, `untrusted.token 1 ${now}\n`);
    await sendTls(noCert.graphitePort, ca.cert, `untrusted.cert 1 ${now}\n`);

    const expected = [...oracle.statPoints([1]).entries()];
    await waitFor(
      'every finest window written',
      () => {
        const written = new Set(writtenBy(accumulator).map(keyOf));
        return expected.every(([key]) => written.has(key));
      },
      20_000,
    );
    const written = new Map(
      writtenBy(accumulator)
        .filter((r) => r.step === 1)
        .map((r) => [keyOf(r), pointOf(r)]),
    );
    contention.stop();
    for (const [key, point] of expected) expect(written.get(key), key).toEqual(point);
    expect([...written.keys()].filter((k) => k.startsWith('untrusted.'))).toEqual([]);

    // Refused on the accumulator (the token) and on the relays (the token, the TLS handshake), counted.
    await waitFor(
      'the wrong token counted',
      async () =>
        (await metric(accumulator.httpPort, ca.cert, 'auth_refused_total', 'endpoint="ingest",reason="wrong_token"')) >
        0,
    );
    expect(await metric(wrongToken.httpPort, ca.cert, 'relay_link_status_failures_total')).toBeGreaterThan(0);
    await waitFor(
      'the missing certificate counted',
      async () => (await metric(noCert.httpPort, ca.cert, 'relay_link_connect_failures_total')) > 0,
      15_000,
    );
    for (const untrusted of [wrongToken, noCert])
      expect(await metric(untrusted.httpPort, ca.cert, 'relay_link_queued_batches')).toBe(1);

    // HTTP: /ring and POST /lines take the bearer token; /metrics and /healthz stay open for probes and scrapers.
    expect((await https(relay.httpPort, '/ring', ca.cert)).status).toBe(401);
    expect((await https(relay.httpPort, '/ring', ca.cert, { token: 'wrong' })).status).toBe(401);
    const ring = await https(relay.httpPort, '/ring', ca.cert, { token: HTTP_TOKEN });
    expect(ring.status).toBe(200);
    expect(JSON.parse(ring.body)).toHaveProperty('relayId');
    expect(await metric(relay.httpPort, ca.cert, 'auth_refused_total', 'endpoint="ring"')).toBe(2);
    const post = (token?: string): Promise<Answer> =>
      https(accumulator.httpPort, '/lines?format=graphite', ca.cert, {
        method: 'POST',
        token,
        body: `posted.m 1 ${now}\n`,
      });
    expect((await post()).status).toBe(401);
    expect((await post('wrong')).status).toBe(401);
    const accepted = await post(HTTP_TOKEN);
    expect(accepted.status).toBe(200);
    expect(JSON.parse(accepted.body)).toMatchObject({ accepted: 1 });
    expect(
      await metric(accumulator.httpPort, ca.cert, 'auth_refused_total', 'endpoint="lines",reason="missing_token"'),
    ).toBe(1);
    expect(
      await metric(accumulator.httpPort, ca.cert, 'auth_refused_total', 'endpoint="lines",reason="wrong_token"'),
    ).toBe(1);
    expect((await https(accumulator.httpPort, '/healthz', ca.cert)).status).toBe(200);

    for (const r of running) {
      const output = r.program.output();
      expect(output).not.toContain(CLUSTER_TOKEN);
      expect(output).not.toContain(HTTP_TOKEN);
      expect(output).not.toContain('PRIVATE KEY');
    }
  });
});
