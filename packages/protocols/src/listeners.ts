/**
 * TCP and UDP servers for newline-delimited protocols. They frame bytes into lines and hand each line to the
 * caller as a byte range; parsing and accept/reject counting of parsed lines stay with the caller, except for
 * line_too_long, which never reaches it and is counted here on the same LineCounters.
 *
 * At maxConnections a new connection closes the one silent the longest (if silent at least a second) instead of
 * being refused: idle connections cannot lock clients out for the idle timeout.
 *
 * Metrics (labels protocol, transport): listener_connections_total, listener_connections_active,
 * listener_connections_refused_total (over maxConnections, every open one busy), listener_connections_evicted_total
 * (the longest silent closed for a new one), listener_idle_timeouts_total,
 * listener_socket_errors_total, listener_bytes_received_total, listener_datagrams_received_total.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, isIPv6, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import {
  attachTls,
  bindAnyFamily,
  listenServer,
  ReloadingTls,
  type CounterChild,
  type GaugeChild,
} from '@carillon/core';
import type { ListenerTls } from './listener-tls.js';
import { LineSplitter, splitDatagram } from './framing.js';
import type { ReadGate } from './read-gate.js';
import { DEFAULT_MAX_LINE_LENGTH, type LineHandler } from './lines.js';
import type { LineCounters, RejectReason } from './reasons.js';

export interface ListenerOptions {
  /** Address to bind, e.g. `0.0.0.0`, `::` or `127.0.0.1`. */
  host: string;
  /** 0 picks a free port; the handle reports the bound one. */
  port: number;
  /** Line counters of the protocol served; its registry also receives the listener's metrics. */
  lines: LineCounters;
  /** Longest accepted line in bytes, without `\r\n`. Default 64 KiB. */
  maxLineLength?: number;
  /** SO_REUSEPORT: other threads bind the same port and the kernel spreads connections or datagrams over them. */
  reusePort?: boolean;
  /** While shut, TCP connections stop reading and UDP datagrams are refused (`queue_full`): read-gate.ts. */
  gate?: ReadGate;
}

/** What listeners that share a port with other threads, or a consumer's hold, are started with. */
export interface SharedListening {
  reusePort?: boolean;
  gate?: ReadGate;
}

export interface TcpListenerOptions extends ListenerOptions {
  /** A connection silent this long is closed. Default 5 minutes (carbon clients hold connections open). */
  idleTimeoutMs?: number;
  /**
   * At this many, a new connection closes the longest-silent one (silent at least EVICT_MIN_IDLE_MS); when
   * every connection is busy the new one is closed at once and counted as refused. Default 10 000.
   */
  maxConnections?: number;
  /** How a connection's bytes become lines: newline framing (LineSplitter) unless given (the pickle framer). */
  framer?: (onLine: LineHandler) => StreamFramer;
  /** TLS on the port (certificates reloaded when their files change); plain TCP when absent. */
  tls?: ListenerTls;
}

/** What turns a TCP stream into lines; one per connection. */
export interface StreamFramer {
  push(chunk: Buffer): void;
  /** The client finished sending. */
  end(): void;
}

export interface UdpListenerOptions extends ListenerOptions {
  /** SO_RCVBUF in bytes; the OS default when absent (often too small for StatsD bursts). */
  receiveBufferSize?: number;
  /**
   * Takes each datagram whole instead of splitDatagram and onLine: it must cut and count lines by the same rules
   * (line_too_long included), and may read them without a pass to split them first.
   */
  datagrams?: DatagramHandler;
}

/** Receives one datagram; its bytes are only valid during the call. */
export type DatagramHandler = (datagram: Buffer, maxLineLength: number) => void;

export interface Listener {
  readonly host: string;
  /** The bound port (the real one when 0 was asked for). */
  readonly port: number;
  /** Stops accepting, ends every connection and resolves once the socket is closed. */
  close(): Promise<void>;
}

export const DEFAULT_IDLE_TIMEOUT_MS = 5 * 60_000;
export const DEFAULT_MAX_CONNECTIONS = 10_000;
/** A connection that sent within this long is busy: not closed to make room (a flood cannot churn live clients). */
export const EVICT_MIN_IDLE_MS = 1_000;

interface ListenerMetrics {
  connections: CounterChild;
  active: GaugeChild;
  refused: CounterChild;
  evicted: CounterChild;
  idleTimeouts: CounterChild;
  socketErrors: CounterChild;
  bytes: CounterChild;
  datagrams: CounterChild;
}

function listenerMetrics(lines: LineCounters, transport: 'tcp' | 'udp'): ListenerMetrics {
  const r = lines.registry;
  const labels = ['protocol', 'transport'];
  const child = (name: string, help: string): CounterChild =>
    r.counter(name, help, labels).labels(lines.protocol, transport);
  return {
    connections: child('listener_connections_total', 'Connections accepted'),
    active: r.gauge('listener_connections_active', 'Connections open now', labels).labels(lines.protocol, transport),
    refused: child(
      'listener_connections_refused_total',
      'Connections closed at once because maxConnections were open and none was idle',
    ),
    evicted: child(
      'listener_connections_evicted_total',
      'Idle connections closed to make room for a new one at maxConnections',
    ),
    idleTimeouts: child('listener_idle_timeouts_total', 'Connections closed after the idle timeout'),
    socketErrors: child('listener_socket_errors_total', 'Socket errors on connections or datagram sockets'),
    bytes: child('listener_bytes_received_total', 'Bytes received'),
    datagrams: child('listener_datagrams_received_total', 'Datagrams received'),
  };
}

function checkPositive(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer, got ${value}`);
  return value;
}

/** Listens for line-protocol connections; resolves once bound. */
export async function listenTcp(options: TcpListenerOptions, onLine: LineHandler): Promise<Listener> {
  const maxLineLength = checkPositive('maxLineLength', options.maxLineLength ?? DEFAULT_MAX_LINE_LENGTH);
  const idleTimeoutMs = checkPositive('idleTimeoutMs', options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS);
  const maxConnections = checkPositive('maxConnections', options.maxConnections ?? DEFAULT_MAX_CONNECTIONS);
  const metrics = listenerMetrics(options.lines, 'tcp');
  const rejectLine = (reason: RejectReason): void => options.lines.reject(reason);
  /** Open connections → when each last sent, least recent first (a send moves it to the end). */
  const sockets = new Map<Socket, number>();

  const tls = options.tls
    ? new ReloadingTls(options.tls.files, {
        name: options.lines.protocol,
        reloadIntervalMs: options.tls.reloadIntervalMs,
        metrics: options.lines.registry,
      })
    : undefined;
  const onConnection = (socket: Socket): void => {
    if (sockets.size >= maxConnections) {
      const [oldest, lastSent] = sockets.entries().next().value!;
      if (Date.now() - lastSent < EVICT_MIN_IDLE_MS) {
        metrics.refused.inc();
        socket.destroy();
        return;
      }
      // Its complete lines are delivered; a partial line of a silent client is dropped with it.
      sockets.delete(oldest);
      metrics.evicted.inc();
      oldest.destroy();
    }
    sockets.set(socket, Date.now());
    options.gate?.add(socket);
    metrics.connections.inc();
    metrics.active.inc();
    const splitter: StreamFramer = options.framer
      ? options.framer(onLine)
      : new LineSplitter(maxLineLength, onLine, rejectLine);
    socket.setNoDelay(true);
    socket.setTimeout(idleTimeoutMs, () => {
      metrics.idleTimeouts.inc();
      socket.destroy();
    });
    socket.on('data', (chunk: Buffer) => {
      metrics.bytes.inc(chunk.length);
      if (sockets.delete(socket)) sockets.set(socket, Date.now());
      splitter.push(chunk);
    });
    // The client finished sending: its last line counts even without a newline.
    socket.on('end', () => {
      splitter.end();
      socket.end();
    });
    socket.on('error', () => metrics.socketErrors.inc());
    socket.on('close', () => {
      sockets.delete(socket);
      options.gate?.delete(socket);
      metrics.active.dec();
    });
  };
  // With TLS a connection reaches onConnection once its handshake succeeded; refused handshakes are counted.
  const server: Server = tls ? createTlsServer(tls.serverOptions(), onConnection) : createServer(onConnection);
  if (tls) attachTls(server as ReturnType<typeof createTlsServer>, tls, options.lines.registry);

  await listenServer(server, options.host, options.port, options.reusePort);
  server.on('error', () => metrics.socketErrors.inc());
  const address = server.address();
  let closing: Promise<void> | undefined;
  return {
    host: typeof address === 'object' && address ? address.address : options.host,
    port: typeof address === 'object' && address ? address.port : options.port,
    close: () =>
      (closing ??= new Promise<void>((done) => {
        tls?.close();
        server.close(() => done());
        // A partial line of a connection cut here is incomplete, so it is dropped, not delivered.
        for (const socket of sockets.keys()) socket.destroy();
      })),
  };
}

/** Listens for datagrams of one or more lines; resolves once bound. */
export function listenUdp(options: UdpListenerOptions, onLine: LineHandler): Promise<Listener> {
  return bindAnyFamily(options.host, (host) => bindUdp({ ...options, host }, onLine));
}

function bindUdp(options: UdpListenerOptions, onLine: LineHandler): Promise<Listener> {
  const maxLineLength = checkPositive('maxLineLength', options.maxLineLength ?? DEFAULT_MAX_LINE_LENGTH);
  const metrics = listenerMetrics(options.lines, 'udp');
  const rejectLine = (reason: RejectReason): void => options.lines.reject(reason);
  const socket: UdpSocket = createSocket({
    type: isIPv6(options.host) ? 'udp6' : 'udp4',
    ...(options.reusePort ? { reusePort: true } : {}),
    ...(options.receiveBufferSize === undefined
      ? {}
      : { recvBufferSize: checkPositive('receiveBufferSize', options.receiveBufferSize) }),
  });
  const datagrams = options.datagrams;
  const gate = options.gate;
  const refuseHeld = (): void => options.lines.reject('queue_full');
  socket.on('message', (datagram: Buffer) => {
    metrics.datagrams.inc();
    metrics.bytes.inc(datagram.length);
    // A datagram cannot wait: while the consumer holds its listeners, its lines are refused and counted.
    if (gate?.isShut) splitDatagram(datagram, maxLineLength, refuseHeld, rejectLine);
    else if (datagrams !== undefined) datagrams(datagram, maxLineLength);
    else splitDatagram(datagram, maxLineLength, onLine, rejectLine);
  });

  return new Promise((resolve, reject) => {
    const failBind = (error: Error): void => {
      socket.close();
      reject(error);
    };
    socket.once('error', failBind);
    socket.bind({ address: options.host, port: options.port }, () => {
      socket.off('error', failBind);
      // After binding, errors (e.g. ICMP noise on some platforms) are counted, never fatal.
      socket.on('error', () => metrics.socketErrors.inc());
      let closing: Promise<void> | undefined;
      resolve({
        host: options.host,
        port: socket.address().port,
        close: () => (closing ??= new Promise<void>((done) => socket.close(() => done()))),
      });
    });
  });
}
