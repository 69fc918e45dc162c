import { describe, expect, it } from 'vitest';
import { ConfigSource, readHttpSecurity } from '@carillon/core';
import { readClusterSecurity } from '@carillon/transport';

const source = (pairs: Record<string, string>): ConfigSource =>
  new ConfigSource({}, {}, new Map(Object.entries(pairs)));

describe('[cluster] and [http] security keys', () => {
  it('are off by default', () => {
    expect(readClusterSecurity(source({}), 'relay')).toEqual({ token: '', tls: undefined, reloadIntervalMs: 30_000 });
    expect(readHttpSecurity(source({}))).toEqual({ token: '', tls: undefined, reloadIntervalMs: 30_000 });
  });

  it('refuse short or blank tokens, naming the key', () => {
    expect(() => readClusterSecurity(source({ 'cluster.token': 'CHANGE-ME' }), 'relay')).toThrow(
      /cluster\.token: must be at least 16 characters/,
    );
    expect(() => readHttpSecurity(source({ 'http.token': 'a token with blanks' }))).toThrow(
      /http\.token: must not contain blanks/,
    );
    expect(readClusterSecurity(source({ 'cluster.token': 'x'.repeat(16) }), 'accumulator').token).toBe('x'.repeat(16));
  });

  it('refuse half-configured TLS, naming the key', () => {
    expect(() => readClusterSecurity(source({ 'cluster.tls_cert': '/etc/hosts' }), 'relay')).toThrow(
      /cluster\.tls_cert: is set but cluster\.tls is false/,
    );
    expect(() => readClusterSecurity(source({ 'cluster.tls': 'true' }), 'accumulator')).toThrow(/cluster\.tls_cert/);
    expect(() =>
      readClusterSecurity(
        source({
          'cluster.tls': 'true',
          'cluster.tls_cert': '/etc/hosts',
          'cluster.tls_key': '/etc/hosts',
          'cluster.tls_client_auth': 'require',
        }),
        'accumulator',
      ),
    ).toThrow(/cluster\.tls_ca/);
    expect(() =>
      readClusterSecurity(source({ 'cluster.tls': 'true', 'cluster.tls_ca': '/nonexistent/ca.pem' }), 'relay'),
    ).toThrow(/cluster\.tls_ca: cannot read/);
    expect(readClusterSecurity(source({ 'cluster.tls': 'true' }), 'relay').tls).toMatchObject({ ca: '', cert: '' });
    expect(() => readHttpSecurity(source({ 'http.tls_key': '/etc/hosts' }))).toThrow(
      /http\.tls_cert: must be set with http\.tls_key/,
    );
    expect(() =>
      readHttpSecurity(
        source({ 'http.tls_cert': '/etc/hosts', 'http.tls_key': '/etc/hosts', 'http.tls_client_auth': 'require' }),
      ),
    ).toThrow(/http\.tls_ca/);
  });
});
