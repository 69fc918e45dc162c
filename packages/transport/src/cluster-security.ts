/**
 * How relays and accumulators trust each other on the gRPC ingest port: a shared cluster token (metadata
 * `authorization: Bearer <token>` on every call), TLS, and optionally client certificates (mTLS). The `[cluster]`
 * keys are one section both programs read, so one file serves both; each uses the keys of its side.
 */
import * as grpc from '@grpc/grpc-js';
import {
  ConfigError,
  configKey,
  readSection,
  ReloadingTls,
  TLS_RELOAD_INTERVAL_KEY,
  tokenProblem,
  type ClientAuth,
  type ConfigSource,
  type Logger,
  type MetricsRegistry,
} from '@carillon/core';
import { readFileSync } from 'node:fs';

export const CLUSTER_KEYS = {
  token: configKey.string({
    key: 'cluster.token',
    default: '',
    description:
      'shared secret of the cluster: relays send it on every ingest call, accumulators refuse calls without it (counted); "" = no token (set it, e.g. from a Secret via CARILLON_CLUSTER_TOKEN)',
  }),
  tls: configKey.boolean({
    key: 'cluster.tls',
    default: false,
    description:
      'TLS on the gRPC ingest port (accumulators serve cluster.tls_cert; relays verify it against cluster.tls_ca)',
  }),
  cert: configKey.string({
    key: 'cluster.tls_cert',
    default: '',
    description: "PEM certificate file: the accumulator's server certificate; on a relay its client certificate (mTLS)",
  }),
  key: configKey.string({
    key: 'cluster.tls_key',
    default: '',
    description: 'PEM private key file of cluster.tls_cert',
  }),
  ca: configKey.string({
    key: 'cluster.tls_ca',
    default: '',
    description:
      'PEM CA file: a relay verifies accumulators against it ("" = system roots); an accumulator verifies relays\' client certificates',
  }),
  clientAuth: configKey.oneOf({
    key: 'cluster.tls_client_auth',
    choices: ['none', 'require'] as const,
    default: 'none',
    description: '"require": accumulators refuse relays without a client certificate signed by cluster.tls_ca (mTLS)',
  }),
  serverName: configKey.string({
    key: 'cluster.tls_server_name',
    default: '',
    description: 'the name relays expect in accumulators\' certificates; "" = the host of each member\'s address',
  }),
} as const;

export interface ClusterSecurity {
  token: string;
  tls: { cert: string; key: string; ca: string; clientAuth: ClientAuth; serverName: string } | undefined;
  reloadIntervalMs: number;
}

/** Reads `[cluster]` for one side; a half-configured side stops the program naming the key. */
export function readClusterSecurity(source: ConfigSource, side: 'relay' | 'accumulator'): ClusterSecurity {
  const keys = readSection(source, CLUSTER_KEYS);
  const reloadIntervalMs = source.read(TLS_RELOAD_INTERVAL_KEY);
  const problem = tokenProblem(keys.token);
  if (problem) throw new ConfigError(CLUSTER_KEYS.token.key, problem);
  const security: ClusterSecurity = { token: keys.token, tls: undefined, reloadIntervalMs };
  const named: [string, string][] = [
    [CLUSTER_KEYS.cert.key, keys.cert],
    [CLUSTER_KEYS.key.key, keys.key],
    [CLUSTER_KEYS.ca.key, keys.ca],
  ];
  if (!keys.tls) {
    for (const [name, value] of named)
      if (value !== '') throw new ConfigError(name, `is set but ${CLUSTER_KEYS.tls.key} is false`);
    if (keys.clientAuth !== 'none')
      throw new ConfigError(CLUSTER_KEYS.clientAuth.key, `needs ${CLUSTER_KEYS.tls.key} = true`);
    return security;
  }
  if ((keys.cert === '') !== (keys.key === ''))
    throw new ConfigError(keys.cert === '' ? CLUSTER_KEYS.cert.key : CLUSTER_KEYS.key.key, 'set both or neither');
  if (side === 'accumulator' && keys.cert === '')
    throw new ConfigError(CLUSTER_KEYS.cert.key, 'an accumulator with cluster.tls needs its server certificate');
  if (side === 'accumulator' && keys.clientAuth === 'require' && keys.ca === '')
    throw new ConfigError(CLUSTER_KEYS.ca.key, "must name the CA of the relays' client certificates");
  for (const [name, path] of named) {
    if (path === '') continue;
    try {
      readFileSync(path);
    } catch (error) {
      throw new ConfigError(name, `cannot read ${path}: ${(error as Error).message}`);
    }
  }
  security.tls = {
    cert: keys.cert,
    key: keys.key,
    ca: keys.ca,
    clientAuth: keys.clientAuth,
    serverName: keys.serverName,
  };
  return security;
}

/** Hands a ReloadingTls's files to grpc-js as a certificate provider, so a reload reaches new connections. */
class ReloadingCertificateProvider implements grpc.experimental.CertificateProvider {
  private readonly ca = new Set<grpc.experimental.CaCertificateUpdateListener>();
  private readonly identity = new Set<grpc.experimental.IdentityCertificateUpdateListener>();

  constructor(private readonly tls: ReloadingTls) {
    tls.onReload(() => {
      for (const listener of this.ca) listener(this.caUpdate());
      for (const listener of this.identity) listener(this.identityUpdate());
    });
  }

  private caUpdate(): grpc.experimental.CaCertificateUpdate | null {
    const ca = this.tls.current.ca;
    return ca ? { caCertificate: ca } : null;
  }

  private identityUpdate(): grpc.experimental.IdentityCertificateUpdate | null {
    const { cert, key } = this.tls.current;
    return cert && key ? { certificate: cert, privateKey: key } : null;
  }

  addCaCertificateListener(listener: grpc.experimental.CaCertificateUpdateListener): void {
    this.ca.add(listener);
    // grpc-js registers its watcher only after adding listeners: an update delivered now would be missed.
    setImmediate(() => this.ca.has(listener) && listener(this.caUpdate()));
  }
  removeCaCertificateListener(listener: grpc.experimental.CaCertificateUpdateListener): void {
    this.ca.delete(listener);
  }
  addIdentityCertificateListener(listener: grpc.experimental.IdentityCertificateUpdateListener): void {
    this.identity.add(listener);
    setImmediate(() => this.identity.has(listener) && listener(this.identityUpdate()));
  }
  removeIdentityCertificateListener(listener: grpc.experimental.IdentityCertificateUpdateListener): void {
    this.identity.delete(listener);
  }
}

export interface GrpcTls<C> {
  credentials: C;
  /** Stops polling the files. */
  close(): void;
}

/** The accumulator's server credentials: insecure without TLS; otherwise its certificate, reloaded, and mTLS if asked. */
export function serverCredentials(
  security: ClusterSecurity,
  metrics: MetricsRegistry,
  logger?: Logger,
): GrpcTls<grpc.ServerCredentials> {
  if (!security.tls) return { credentials: grpc.ServerCredentials.createInsecure(), close: () => {} };
  const tls = new ReloadingTls(security.tls, {
    name: 'ingest',
    reloadIntervalMs: security.reloadIntervalMs,
    metrics,
    logger,
  });
  const provider = new ReloadingCertificateProvider(tls);
  const requireClient = security.tls.clientAuth === 'require';
  // grpc-js 1.14 hands its first argument to the identity and its second to the CA (their names are swapped);
  // one provider serves both, and the CA is given only when client certificates are required.
  const credentials = grpc.experimental.createCertificateProviderServerCredentials(
    provider,
    requireClient ? provider : null,
    requireClient,
  );
  return { credentials, close: () => tls.close() };
}

/**
 * A relay's channel credentials: insecure without TLS; otherwise the CA (reloaded) and its client certificate if
 * set. The token travels as call metadata (`callMetadata`), which works with and without TLS.
 */
export function channelCredentials(
  security: ClusterSecurity,
  metrics: MetricsRegistry,
  logger?: Logger,
): GrpcTls<grpc.ChannelCredentials> {
  if (!security.tls) return { credentials: grpc.credentials.createInsecure(), close: () => {} };
  const { ca, cert, key } = security.tls;
  if (ca === '') {
    // System roots: read once (a relay's own client certificate rotates with a restart in this mode).
    const channel = grpc.credentials.createSsl(
      null,
      key === '' ? null : readFileSync(key),
      cert === '' ? null : readFileSync(cert),
    );
    return { credentials: channel, close: () => {} };
  }
  const tls = new ReloadingTls(
    { cert, key, ca },
    { name: 'link', reloadIntervalMs: security.reloadIntervalMs, metrics, logger },
  );
  const provider = new ReloadingCertificateProvider(tls);
  const channel = grpc.experimental.createCertificateProviderChannelCredentials(
    provider,
    cert === '' ? null : provider,
  );
  return { credentials: channel, close: () => tls.close() };
}

/** Metadata names on ingest calls. */
export const AUTHORIZATION_HEADER = 'authorization';
export const RELAY_ID_HEADER = 'carillon-relay-id';
export const RELAY_KEY_HEADER = 'carillon-relay-key-bin';

/** The metadata a relay sends on every call: the cluster token, and on streams its identity and key. */
export function callMetadata(token: string, relay?: { id: string; key: Buffer }): grpc.Metadata {
  const metadata = new grpc.Metadata();
  if (token !== '') metadata.set(AUTHORIZATION_HEADER, `Bearer ${token}`);
  if (relay) {
    metadata.set(RELAY_ID_HEADER, relay.id);
    metadata.set(RELAY_KEY_HEADER, relay.key);
  }
  return metadata;
}
