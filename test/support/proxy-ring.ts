/**
 * The reference StatsD proxy placement: the `hashring` package configured exactly as statsd 0.9.0's proxy.js
 * configures it from its `nodes` (weight 100 each, md5, no replicas, a 10,000-key cache).
 */
import { createRequire } from 'node:module';

export interface ReferenceRing {
  get(key: string): string | undefined;
  remove(server: string): ReferenceRing;
  add(servers: Record<string, number>): ReferenceRing;
}

type ReferenceRingClass = new (
  servers: Record<string, number>,
  algorithm: string,
  options: Record<string, number>,
) => ReferenceRing;

// hashring is CommonJS without types.
const HashRing = createRequire(import.meta.url)('hashring') as ReferenceRingClass;

/** The ring proxy.js builds from `nodes` (`host:port` names, in config order). */
export function proxyRing(nodes: readonly string[]): ReferenceRing {
  return new HashRing(Object.fromEntries(nodes.map((node) => [node, 100])), 'md5', {
    'max cache size': 10000,
    replicas: 0,
  });
}
