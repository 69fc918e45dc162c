/**
 * A TCP forwarder between the program and the test's Cassandra, so one test can take "its" Cassandra away without
 * disturbing the other test files sharing the server: `pause()` stops moving bytes (Cassandra stalled, like a
 * SIGSTOPped process: requests time out), `cut()` resets every connection and refuses new ones (Cassandra down),
 * `restore()` brings it back.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

export class TcpProxy {
  private readonly pairs = new Set<{ client: Socket; upstream: Socket }>();
  private mode: 'open' | 'paused' | 'cut' = 'open';

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(targetHost: string, targetPort: number): Promise<TcpProxy> {
    const accepted: Socket[] = [];
    const holder: { proxy?: TcpProxy } = {};
    const server = createServer((client) => {
      if (holder.proxy) holder.proxy.accept(client, targetHost, targetPort);
      else accepted.push(client);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('proxy has no port');
    holder.proxy = new TcpProxy(server, address.port);
    for (const client of accepted) holder.proxy.accept(client, targetHost, targetPort);
    return holder.proxy;
  }

  private accept(client: Socket, host: string, port: number): void {
    if (this.mode === 'cut') {
      client.resetAndDestroy();
      return;
    }
    const upstream = connect(port, host);
    const pair = { client, upstream };
    this.pairs.add(pair);
    // Plain data handlers, not pipe(): pipe resumes a source on drain, which would undo pause().
    client.on('data', (chunk) => upstream.write(chunk));
    upstream.on('data', (chunk) => client.write(chunk));
    if (this.mode === 'paused') this.setFlowing(pair, false);
    const close = (): void => {
      this.pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
  }

  private setFlowing(pair: { client: Socket; upstream: Socket }, flowing: boolean): void {
    if (flowing) {
      pair.client.resume();
      pair.upstream.resume();
    } else {
      pair.client.pause();
      pair.upstream.pause();
    }
  }

  /** Connections stay open but carry nothing. */
  pause(): void {
    this.mode = 'paused';
    for (const pair of this.pairs) this.setFlowing(pair, false);
  }

  /** Every connection is reset; new ones are refused until restore(). */
  cut(): void {
    this.mode = 'cut';
    for (const pair of this.pairs) {
      pair.client.resetAndDestroy();
      pair.upstream.destroy();
    }
    this.pairs.clear();
  }

  restore(): void {
    this.mode = 'open';
    for (const pair of this.pairs) this.setFlowing(pair, true);
  }

  get connections(): number {
    return this.pairs.size;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
