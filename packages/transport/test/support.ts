import { connect, createServer, type Server, type Socket } from 'node:net';
import type { IngestHandler, ReceivedBatch } from '@carillon/transport';

/** A real handler that keeps every batch it is given; durability is set by the test, as a flush would. */
export class RecordingHandler implements IngestHandler {
  readonly batches: ReceivedBatch[] = [];
  readonly durable = new Map<string, number>();
  constructor(readonly memberId = 'acc-1') {}
  process(batch: ReceivedBatch): void {
    this.batches.push({ ...batch, lines: Buffer.from(batch.lines) });
  }
  durableSequence(relayId: string): number {
    return this.durable.get(relayId) ?? 0;
  }
  /** Marks everything processed so far durable. */
  makeAllDurable(): void {
    for (const batch of this.batches)
      if (batch.sequence > (this.durable.get(batch.relayId) ?? 0)) this.durable.set(batch.relayId, batch.sequence);
  }
  lines(): string[] {
    return this.batches.flatMap((b) => b.lines.toString().split('\n').slice(0, -1));
  }
  status(): { memberId: string; ringVersion: number; series: number } {
    return { memberId: this.memberId, ringVersion: 1, series: this.batches.length };
  }
}

export async function until(check: () => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what} not reached within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** A port that nothing listens on right now. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A TCP forwarder whose connections the test can cut, to break a stream without restarting the server. */
export class CuttableProxy {
  private constructor(
    private readonly server: Server,
    private readonly sockets: Set<Socket>,
    readonly port: number,
  ) {}

  static async start(targetPort: number): Promise<CuttableProxy> {
    const sockets = new Set<Socket>();
    const server = createServer((client) => {
      const upstream = connect(targetPort, '127.0.0.1');
      for (const socket of [client, upstream]) {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
        socket.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream);
      upstream.pipe(client);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    return new CuttableProxy(server, sockets, typeof address === 'object' && address ? address.port : 0);
  }

  cutAll(): number {
    const count = this.sockets.size;
    for (const socket of this.sockets) socket.destroy();
    return count;
  }

  async close(): Promise<void> {
    this.cutAll();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
