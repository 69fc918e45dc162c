/**
 * Binding the address a `*_listen` key names. `:port` (and a bare port) means every interface of both families,
 * as carbon's `:PORT` does: `::`, which Linux makes dual-stack, so IPv4 clients reach it as mapped addresses. On a
 * host without IPv6 that bind fails, and the listener falls back to `0.0.0.0`.
 */
import type { Server } from 'node:net';

export const ANY_HOST = '::';
const IPV4_ANY_HOST = '0.0.0.0';

function withoutIpv6(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'EAFNOSUPPORT' || code === 'EADDRNOTAVAIL';
}

/** Runs `bind(host)`; for the any-address, once more on IPv4's when the host has no IPv6. */
export async function bindAnyFamily<T>(host: string, bind: (host: string) => Promise<T>): Promise<T> {
  try {
    return await bind(host);
  } catch (error) {
    if (host !== ANY_HOST || !withoutIpv6(error)) throw error;
    return bind(IPV4_ANY_HOST);
  }
}

/**
 * `server.listen` as a promise over `bindAnyFamily`; rejects with the bind error. `reusePort` (SO_REUSEPORT) lets
 * several threads bind the same port, the kernel spreading connections over them (the relay's ingest workers).
 */
export function listenServer(server: Server, host: string, port: number, reusePort = false): Promise<void> {
  return bindAnyFamily(
    host,
    (address) =>
      new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ host: address, port, ...(reusePort ? { reusePort } : {}) }, () => {
          server.off('error', reject);
          resolve();
        });
      }),
  );
}

/** `host:port` as gRPC and URLs write it (IPv6 hosts in brackets). */
export function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
