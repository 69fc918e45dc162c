/** What the all-in-one tests on Cassandra (flat rows, chunks) share: the program, its arguments, its answers. */
export const PROGRAM = 'services/allinone/dist/main.js';

/**
 * `--set` arguments of an all-in-one on `store = cassandra` with 2 pool workers, 1 s grace and no write-ahead
 * log, listening on 127.0.0.1 (Graphite TCP, StatsD UDP; the other listeners off); `settings` last, so they may override any of it.
 */
export function cassandraProgramArgs(
  cassandra: { contactPoints: string; localDataCenter: string; keyspace: string },
  ports: { http: number; graphite: number; statsd: number },
  settings: string[],
): string[] {
  return [
    ...[
      'store=cassandra',
      `cassandra.contact_points=${cassandra.contactPoints}`,
      `cassandra.keyspace=${cassandra.keyspace}`,
    ],
    ...[`cassandra.local_data_center=${cassandra.localDataCenter}`, 'cassandra.workers=2'],
    ...[
      `http.listen=127.0.0.1:${ports.http}`,
      `graphite.tcp_listen=127.0.0.1:${ports.graphite}`,
      'graphite.udp_listen=',
    ],
    ...[
      `statsd.udp_listen=127.0.0.1:${ports.statsd}`,
      'statsd.tcp_listen=',
      'pickle.tcp_listen=',
      'aggregator.grace=1s',
      'log_level=info',
    ],
    // No write-ahead log: its default lives under ./data, which every run of these tests would share.
    'wal.dir=',
    ...settings,
  ].flatMap((setting) => ['--set', setting]);
}
