/** The credential and TLS keys of `[cassandra]`: off by default, read in usable sets, errors naming the key. */
import { describe, expect, it } from 'vitest';
import { ConfigSource } from '@carillon/core';
import { readCassandraConfig } from '@carillon/writers';

const read = (cassandra: Record<string, unknown>) => readCassandraConfig(new ConfigSource({ cassandra }, {}));

describe('[cassandra] credentials and TLS', () => {
  it('are off by default', () => {
    expect(read({})).toMatchObject({ username: '', password: '', tls: false, tlsCa: '', tlsCert: '', tlsKey: '' });
  });

  it('read a user with its password, and TLS with readable files', () => {
    expect(read({ username: 'carillon', password: 'secret', tls: true, tls_ca: '/etc/hosts' })).toMatchObject({
      username: 'carillon',
      password: 'secret',
      tls: true,
      tlsCa: '/etc/hosts',
    });
  });

  it('refuse half a set, TLS files without TLS, and unreadable files, naming the key', () => {
    expect(() => read({ username: 'carillon' })).toThrow(/cassandra\.username: set with cassandra\.password/);
    expect(() => read({ tls: true, tls_cert: '/etc/hosts' })).toThrow(/cassandra\.tls_cert/);
    expect(() => read({ tls_ca: '/etc/hosts' })).toThrow(/cassandra\.tls_ca: is set but cassandra\.tls is false/);
    expect(() => read({ tls: true, tls_ca: '/nonexistent/ca.pem' })).toThrow(/cassandra\.tls_ca: cannot read/);
  });
});
