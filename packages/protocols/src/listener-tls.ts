/**
 * TLS of the TCP receivers (Graphite, StatsD, pickle): `<section>.tls_cert` and its kin. UDP has no TLS; a
 * deployment that needs confidentiality disables it (`<section>.udp_listen = ""`).
 */
import {
  configSchema,
  readTlsFiles,
  tlsKeys,
  TLS_RELOAD_INTERVAL_KEY,
  type ConfigSource,
  type TlsFiles,
} from '@carillon/core';

export type TcpReceiver = 'graphite' | 'statsd' | 'pickle';

export const TCP_TLS_KEYS = {
  graphite: tlsKeys('graphite', 'Graphite over TCP'),
  statsd: tlsKeys('statsd', 'StatsD over TCP'),
  pickle: tlsKeys('pickle', 'the pickle receiver'),
} as const;

export const LISTENER_TLS_SCHEMA = configSchema(TCP_TLS_KEYS.graphite, TCP_TLS_KEYS.statsd, TCP_TLS_KEYS.pickle, [
  TLS_RELOAD_INTERVAL_KEY,
]);

export interface ListenerTls {
  files: TlsFiles;
  reloadIntervalMs: number;
}

export function readListenerTls(source: ConfigSource, receiver: TcpReceiver): ListenerTls | undefined {
  const files = readTlsFiles(source, TCP_TLS_KEYS[receiver]);
  return files ? { files, reloadIntervalMs: source.read(TLS_RELOAD_INTERVAL_KEY) } : undefined;
}
