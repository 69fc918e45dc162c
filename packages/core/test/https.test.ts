/**
 * The one HTTP server maker over TLS: HTTPS with certificates made for the test, a client certificate required
 * when asked (refusals counted), a renewed certificate served to the next connection, and the bearer token gate.
 */
import { copyFileSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createHttpOrHttpsServer, MetricsRegistry, TokenGate, type SecureServer } from '@carillon/core';
import { makeCa, type TestCertificate } from '../../../test/support/certs.js';
import { useTempDir } from '../../../test/support/temp-dir.js';
import { waitFor } from '../../../test/support/wait.js';

const tempDir = useTempDir('https');
const servers: SecureServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeTls();
    s.server.closeAllConnections();
    await new Promise<void>((resolve) => s.server.close(() => resolve()));
  }
});

async function listen(secure: SecureServer): Promise<number> {
  servers.push(secure);
  await new Promise<void>((resolve) => secure.server.listen(0, '127.0.0.1', resolve));
  return (secure.server.address() as AddressInfo).port;
}

function get(
  port: number,
  ca: string,
  options: { client?: TestCertificate; token?: string } = {},
): Promise<{ status: number; issuer: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/',
        ca: readFileSync(ca),
        servername: 'localhost',
        agent: false,
        timeout: 5000,
        headers: options.token ? { authorization: `Bearer ${options.token}` } : {},
        ...(options.client ? { cert: readFileSync(options.client.cert), key: readFileSync(options.client.key) } : {}),
      },
      (res) => {
        const issuer = String((res.socket as import('node:tls').TLSSocket).getPeerCertificate().issuer.CN);
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, issuer }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}

describe('HTTPS', () => {
  it('serves over TLS, asks for the token, and serves a renewed certificate without a restart', async () => {
    const dir = tempDir();
    const first = makeCa(dir, 'first');
    const second = makeCa(dir, 'second');
    const a = first.issue('a');
    const b = second.issue('b');
    const live = { cert: join(dir, 'live.crt'), key: join(dir, 'live.key') };
    copyFileSync(a.cert, live.cert);
    copyFileSync(a.key, live.key);
    const metrics = new MetricsRegistry();
    const gate = new TokenGate('t'.repeat(20), metrics, 'test');
    const port = await listen(
      createHttpOrHttpsServer(
        { tls: { ...live, ca: '', clientAuth: 'none' }, reloadIntervalMs: 50 },
        (req, res) => {
          if (gate.admit(req, res)) res.writeHead(200).end('ok');
        },
        metrics,
      ),
    );
    expect(await get(port, first.cert)).toEqual({ status: 401, issuer: 'first' });
    expect(await get(port, first.cert, { token: 'wrong' })).toEqual({ status: 401, issuer: 'first' });
    expect(await get(port, first.cert, { token: 't'.repeat(20) })).toEqual({ status: 200, issuer: 'first' });
    expect(metrics.value('auth_refused_total', 'test', 'missing_token')).toBe(1);
    expect(metrics.value('auth_refused_total', 'test', 'wrong_token')).toBe(1);
    copyFileSync(b.key, live.key);
    copyFileSync(b.cert, live.cert);
    await waitFor('the reload', () => metrics.value('tls_reloads_total', 'http') === 1);
    expect(await get(port, second.cert, { token: 't'.repeat(20) })).toEqual({ status: 200, issuer: 'second' });
    await expect(get(port, first.cert)).rejects.toThrow();
  });

  it('with client_auth "require" refuses a client without a certificate, counted', async () => {
    const dir = tempDir();
    const ca = makeCa(dir, 'ca');
    const server = ca.issue('server');
    const client = ca.issue('client');
    const metrics = new MetricsRegistry();
    const port = await listen(
      createHttpOrHttpsServer(
        { tls: { ...server, ca: ca.cert, clientAuth: 'require' }, reloadIntervalMs: 1000 },
        (_req, res) => res.writeHead(200).end('ok'),
        metrics,
      ),
    );
    await expect(get(port, ca.cert)).rejects.toThrow();
    await waitFor('the refusal counted', () => metrics.value('tls_handshake_failures_total', 'http') === 1);
    expect((await get(port, ca.cert, { client })).status).toBe(200);
  });
});
