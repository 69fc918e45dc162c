/**
 * TLS material for every server and client of ours: certificate, key and CA files read at start and re-read when
 * their content changes (a Kubernetes Secret update, a cert-manager renewal), so certificates rotate without a
 * restart. A changed set that does not form a valid context (a key written before its certificate) is refused,
 * counted, and the previous one stays in use until the next poll finds a valid set.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext, type SecureContextOptions, type Server as TlsServer } from 'node:tls';
import { configKey, type ConfigSection, type OneOfKey, type StringKey } from './config-schema.js';
import { ConfigError } from './errors.js';
import { readConfiguredFile, type ConfigSource } from './config.js';
import type { Logger } from './log.js';
import { MetricsRegistry } from './metrics.js';

/** Whether a server asks its clients for a certificate: `require` refuses a client without one signed by the CA. */
export type ClientAuth = 'none' | 'require';

export interface TlsFiles {
  /** PEM certificate chain. */
  cert: string;
  /** PEM private key. */
  key: string;
  /** PEM CA bundle: for a server, the CA its clients' certificates must chain to; for a client, the servers'. '' = system roots. */
  ca: string;
  clientAuth: ClientAuth;
}

export interface TlsMaterial {
  cert?: Buffer;
  key?: Buffer;
  ca?: Buffer;
}

export const TLS_RELOAD_INTERVAL_KEY = configKey.duration({
  key: 'tls.reload_interval',
  default: '30s',
  readAs: 'milliseconds',
  min: '10ms',
  description: 'how often certificate, key and CA files are checked for changes (a change is loaded without a restart)',
});

/** The four keys of one TLS endpoint (`<prefix>.tls_cert` ...); TLS is on when `<prefix>.tls_cert` is set. */
export interface TlsKeys extends ConfigSection {
  cert: StringKey;
  key: StringKey;
  ca: StringKey;
  clientAuth: OneOfKey<ClientAuth>;
}

export function tlsKeys(prefix: string, what: string): TlsKeys {
  return {
    cert: configKey.string({
      key: `${prefix}.tls_cert`,
      default: '',
      description: `PEM certificate file for ${what}; set, it turns TLS on (reloaded when it changes)`,
    }),
    key: configKey.string({
      key: `${prefix}.tls_key`,
      default: '',
      description: `PEM private key file for ${what}`,
    }),
    ca: configKey.string({
      key: `${prefix}.tls_ca`,
      default: '',
      description: `PEM CA file the clients' certificates of ${what} must chain to (with ${prefix}.tls_client_auth)`,
    }),
    clientAuth: configKey.oneOf({
      key: `${prefix}.tls_client_auth`,
      choices: ['none', 'require'] as const,
      default: 'none',
      description: `"require": ${what} refuses a client without a certificate signed by ${prefix}.tls_ca (mTLS)`,
    }),
  };
}

/** Reads one endpoint's TLS keys: undefined when TLS is off; a half-configured endpoint stops the program naming the key. */
export function readTlsFiles(source: ConfigSource, keys: TlsKeys): TlsFiles | undefined {
  const cert = source.read(keys.cert);
  const key = source.read(keys.key);
  const ca = source.read(keys.ca);
  const clientAuth = source.read(keys.clientAuth);
  if (cert === '') {
    if (key !== '') throw new ConfigError(keys.cert.key, `must be set with ${keys.key.key}`);
    if (clientAuth !== 'none') throw new ConfigError(keys.clientAuth.key, `needs TLS: set ${keys.cert.key}`);
    return undefined;
  }
  if (key === '') throw new ConfigError(keys.key.key, `must be set with ${keys.cert.key}`);
  if (clientAuth === 'require' && ca === '')
    throw new ConfigError(keys.ca.key, `must name the CA file for client certificates`);
  const files: TlsFiles = { cert, key, ca, clientAuth };
  for (const [name, path] of [
    [keys.cert.key, cert],
    [keys.key.key, key],
    [keys.ca.key, ca],
  ] as const) {
    if (path !== '') readConfiguredFile(name, path);
  }
  return files;
}

export interface ReloadingTlsOptions {
  /** Labels the metrics and logs: `http`, `graphite`, `ingest` ... */
  name: string;
  reloadIntervalMs: number;
  metrics?: MetricsRegistry;
  logger?: Logger;
}

function readMaterial(files: Pick<TlsFiles, 'cert' | 'key' | 'ca'>): TlsMaterial {
  const read = (path: string): Buffer | undefined => (path === '' ? undefined : readFileSync(path));
  return { cert: read(files.cert), key: read(files.key), ca: read(files.ca) };
}

function digest(material: TlsMaterial): string {
  const hash = createHash('sha256');
  for (const part of [material.cert, material.key, material.ca]) {
    hash.update(part ?? Buffer.alloc(0));
    hash.update('\0');
  }
  return hash.digest('hex');
}

/** One endpoint's certificate files, polled for changes; listeners get every new valid set. */
export class ReloadingTls {
  private material: TlsMaterial;
  private fingerprint: string;
  private readonly listeners = new Set<(material: TlsMaterial) => void>();
  private readonly timer: NodeJS.Timeout;
  private readonly reloads;
  private readonly reloadErrors;

  /** Reads the files now (throws when they do not form a valid context) and starts polling. */
  constructor(
    readonly files: Pick<TlsFiles, 'cert' | 'key' | 'ca'> & Partial<Pick<TlsFiles, 'clientAuth'>>,
    private readonly options: ReloadingTlsOptions,
  ) {
    const metrics = options.metrics ?? new MetricsRegistry();
    this.reloads = metrics
      .counter('tls_reloads_total', 'Certificate sets loaded after their files changed', ['name'])
      .labels(options.name);
    this.reloadErrors = metrics
      .counter(
        'tls_reload_errors_total',
        'Changed certificate files refused (unreadable or not a valid set); the previous set stays',
        ['name'],
      )
      .labels(options.name);
    this.material = readMaterial(files);
    createSecureContext(this.contextOf(this.material));
    this.fingerprint = digest(this.material);
    this.timer = setInterval(() => this.poll(), options.reloadIntervalMs);
    this.timer.unref();
  }

  get name(): string {
    return this.options.name;
  }

  get current(): TlsMaterial {
    return this.material;
  }

  get clientAuth(): ClientAuth {
    return this.files.clientAuth ?? 'none';
  }

  /** Options for `tls.createServer` / `https.createServer` / `setSecureContext`. */
  serverOptions(): SecureContextOptions & { requestCert: boolean; rejectUnauthorized: boolean } {
    return {
      ...this.contextOf(this.material),
      requestCert: this.clientAuth === 'require',
      rejectUnauthorized: this.clientAuth === 'require',
    };
  }

  onReload(listener: (material: TlsMaterial) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Re-reads the files; exposed so a caller (or a test) need not wait for the next poll. */
  poll(): boolean {
    let next: TlsMaterial;
    try {
      next = readMaterial(this.files);
    } catch (error) {
      this.refuse(error);
      return false;
    }
    const fingerprint = digest(next);
    if (fingerprint === this.fingerprint) return false;
    try {
      createSecureContext(this.contextOf(next));
    } catch (error) {
      this.refuse(error);
      return false;
    }
    this.material = next;
    this.fingerprint = fingerprint;
    this.reloads.inc();
    this.options.logger?.info({ tls: this.options.name }, 'TLS certificates reloaded');
    for (const listener of this.listeners) listener(next);
    return true;
  }

  close(): void {
    clearInterval(this.timer);
    this.listeners.clear();
  }

  private refuse(error: unknown): void {
    this.reloadErrors.inc();
    // The message names the file and the problem, never the key material.
    this.options.logger?.warn(
      { tls: this.options.name, reason: (error as Error).message },
      'TLS files changed but not loaded',
    );
  }

  private contextOf(material: TlsMaterial): SecureContextOptions {
    const context: SecureContextOptions = {};
    if (material.cert) context.cert = material.cert;
    if (material.key) context.key = material.key;
    if (material.ca) context.ca = material.ca;
    return context;
  }
}

/**
 * Applies reloads to a Node TLS server (tls, https) and counts refused handshakes (no client certificate, one
 * not signed by the CA, a client speaking plain text): `tls_handshake_failures_total{name}`.
 */
export function attachTls(server: TlsServer, tls: ReloadingTls, metrics: MetricsRegistry): void {
  const failures = metrics
    .counter('tls_handshake_failures_total', 'TLS handshakes refused (no or untrusted client certificate, not TLS)', [
      'name',
    ])
    .labels(tls.name);
  tls.onReload(() => server.setSecureContext(tls.serverOptions()));
  server.on('tlsClientError', () => failures.inc());
}
